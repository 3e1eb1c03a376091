"""Each client's data in a file of its own, read where the file lives: data by reference.

Taught in `notebooks/08_where_data_lives.ipynb`, which writes the loading computation in the
open; `notebooks/09_federated_program.ipynb` and the `wire` benchmark import it from here.

A client file is a TFRecord file with two records, `tf.io.serialize_tensor` of the client's
features (float32 `[rows, features]`) and of its labels (int32 `[rows]`). Reading it back
gives a `tf.data.Dataset` with one element `{x, y}` holding every example, the type that
`fedlab.fedavg.build_fedavg_process` takes for a client (it re-cuts batches itself). A driver
that passes file names instead of datasets sends a few bytes per client; the process that runs
the client's computation opens the file, so the file must be where that process looks: a
relative name is resolved in that process's working folder.

TensorFlow and TFF are imported inside the functions: importing this module does nothing.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Sequence

import numpy as np

from fedlab._checks import check_int, check_xy

__all__ = ["FILE_SUFFIX", "write_client_files", "read_client_file", "build_load_client"]

FILE_SUFFIX = ".tfrecord"


def write_client_files(
    folder, x, y, partition: Sequence[Sequence[int]], *, prefix: str = "client"
) -> list[str]:
    """Writes one file per client into `folder` (created if missing); returns the file names.

    Args:
        folder: Where the files go, e.g. one site's own folder.
        x: Features, `[rows, features]`.
        y: Integer labels, `[rows]`.
        partition: One sequence of row indices per client (for example from `fedlab.partition`);
            every client needs at least one row.
        prefix: File names are `{prefix}_{client:03d}.tfrecord`.

    Returns:
        The file names, relative to `folder`, in client order.
    """
    import tensorflow as tf

    x, y = check_xy(x, y)
    if not isinstance(prefix, str) or not prefix or "/" in prefix:
        raise ValueError(f"prefix must be a non-empty file-name part without '/', got {prefix!r}")
    if len(partition) == 0:
        raise ValueError("partition must hold at least 1 client, got 0")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    width = max(3, len(str(len(partition) - 1)))
    names = []
    for client, indices in enumerate(partition):
        indices = np.asarray(indices)
        if (indices.ndim != 1 or len(indices) == 0 or not np.issubdtype(indices.dtype, np.integer)
                or indices.min() < 0 or indices.max() >= len(x)):
            raise ValueError(f"partition[{client}] must hold 1 or more row indices between 0 and "
                             f"{len(x) - 1}, got {len(indices)} values")
        name = f"{prefix}_{client:0{width}d}{FILE_SUFFIX}"
        with tf.io.TFRecordWriter(str(folder / name)) as writer:
            writer.write(tf.io.serialize_tensor(x[indices]).numpy())
            writer.write(tf.io.serialize_tensor(y[indices]).numpy())
        names.append(name)
    return names


def read_client_file(path, num_features: int):
    """The client's examples from its file, as a `tf.data.Dataset` of one `{x, y}` element.

    Works eagerly and inside a `tff.tensorflow.computation` (where `path` is a string tensor).
    A missing file fails when the dataset is read, with TensorFlow's `NotFoundError` naming it.
    """
    import tensorflow as tf

    num_features = check_int("num_features", num_features, 1)

    def parse(records):
        x = tf.ensure_shape(tf.io.parse_tensor(records[0], tf.float32), [None, num_features])
        y = tf.ensure_shape(tf.io.parse_tensor(records[1], tf.int32), [None])
        return collections.OrderedDict(x=x, y=y)

    return tf.data.TFRecordDataset(path).batch(2, drop_remainder=True).map(parse)


def build_load_client(num_features: int):
    """A `tff.tensorflow.computation` from a file name (`np.str_`) to that client's dataset.

    Map it over a `{str}@CLIENTS` list of file names inside a federated computation, e.g.
    `process.next(state, tff.federated_map(load_client, paths))`: each name is opened by the
    process that runs that client's part. Taught in `notebooks/08_where_data_lives.ipynb`.
    """
    import tensorflow_federated as tff

    num_features = check_int("num_features", num_features, 1)

    @tff.tensorflow.computation(np.str_)
    def load_client(path):
        return read_client_file(path, num_features)

    return load_client
