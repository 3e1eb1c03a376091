"""How many bytes one round of FedAvg moves, counted from TFF types or numpy arrays.

Taught in `notebooks/01_dissemination.ipynb`. Counted: the payload only, i.e. every tensor
element times its itemsize (float32 and int32 are 4 bytes). Not counted: protocol overhead
(gRPC and protobuf framing, headers, TLS, retries), compression, and any small extras a
client sends beside its update (fedlab's clients also send a loss and an example count,
8 bytes). The clients' data is never counted: it never moves.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from fedlab._checks import check_int

__all__ = ["tensor_bytes", "round_bytes"]


def tensor_bytes(type_or_structure: Any) -> int:
    """Bytes of a structure of tensors: the sum of element count times itemsize.

    Args:
        type_or_structure: A TFF type (`TensorType`, `StructType`, or a `FederatedType`, whose
            member is counted once), or arrays/tensors nested in lists, tuples and dicts.

    Raises:
        ValueError: For a shape that is not fully known, or a type without a fixed size
            (a sequence, a function, strings).
    """
    value = type_or_structure
    if type(value).__module__.startswith("tensorflow_federated"):
        import tensorflow_federated as tff

        if isinstance(value, tff.FederatedType):
            return tensor_bytes(value.member)
        if isinstance(value, tff.StructType):
            return sum(tensor_bytes(member) for member in value.children())
        if not isinstance(value, tff.TensorType):
            raise ValueError(f"type_or_structure must have a fixed size, got {value}")
        shape, dtype = value.shape, np.dtype(value.dtype)
    elif isinstance(value, Mapping):
        return sum(tensor_bytes(member) for member in value.values())
    elif isinstance(value, (list, tuple)):
        return sum(tensor_bytes(member) for member in value)
    else:
        array = np.asarray(value)  # numpy arrays, TF eager tensors, Python numbers
        shape, dtype = array.shape, array.dtype
    if shape is None or None in shape or dtype.kind not in "biuf":
        raise ValueError(f"type_or_structure must hold numbers of known shape, got {value!r}")
    return int(np.prod(shape, dtype=np.int64)) * dtype.itemsize


def round_bytes(model_bytes: int, clients_per_round: int) -> dict[str, int]:
    """Payload of one FedAvg round, in bytes.

    `down`: the model broadcast to each of the `clients_per_round` sampled clients.
    `up`: one update of the same size sent by each of them, before any aggregation.
    """
    model_bytes = check_int("model_bytes", model_bytes, 0)
    clients_per_round = check_int("clients_per_round", clients_per_round, 1)
    return {"down": model_bytes * clients_per_round, "up": model_bytes * clients_per_round}
