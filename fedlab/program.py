"""A federated training program that survives a crash: saved state, exactly-once metrics.

Taught in `notebooks/09_federated_program.ipynb`, which builds the same loop in the open first.
The program trains `fedlab.fedavg` FedAvg on clients whose data are files
(`fedlab.clientfiles`): each round sends the file names of its cohort and the round loads them
inside the computation. Every round is a pure function of (state, round number):

1. the cohort comes from :func:`select_clients`, seeded by `(seed, round_num)`, not from a
   generator that lives as long as the process;
2. the round's metrics are released to a CSV file (`tff.program.CSVFileReleaseManager`, which
   replaces every row with a key >= the one it writes) and to TensorBoard logs;
3. then the state is saved (`tff.program.FileProgramStateManager`, one folder per round,
   written to a temporary name and renamed).

Killed anywhere, a restart loads the latest saved state and re-runs the next round: a round
whose metrics were released but whose state was not saved is computed again, identically, and
its CSV row is replaced, so every round appears in the CSV exactly once.

Run it as a process of its own (the notebook kills it with SIGKILL and starts it again)::

    python -m fedlab.program CLIENT_DIR OUTPUT_DIR --num-rounds 10 --clients-per-round 5

With `--parent-pid PID` it ends when process PID (the one that started it) ends, however that
ends (`fedlab._processes.die_with_parent`); the notebook passes its kernel's pid. The program does
this itself, first thing, rather than through `subprocess.Popen(preexec_fn=...)`: a
`preexec_fn` makes Python fork with the parent's gRPC threads running, and gRPC then prints a
warning from the parent (the notebook) about its fork handlers.

TensorFlow and TFF are imported inside the functions: importing this module does nothing.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from fedlab._checks import check_int

__all__ = [
    "STATE_DIR", "METRICS_CSV", "TENSORBOARD_DIR", "STATE_PREFIX", "CheckpointError",
    "select_clients", "build_round", "load_latest_state", "run_program", "main",
]

STATE_DIR = "state"  # inside the output folder: program_state_<round>/ folders
METRICS_CSV = "metrics.csv"  # one row per round, key column "round_num"
TENSORBOARD_DIR = "tensorboard"
STATE_PREFIX = "program_state_"  # FileProgramStateManager's default prefix


class CheckpointError(ValueError):
    """A saved program state that cannot be used: unreadable, or saved by another model."""


def select_clients(num_clients: int, clients_per_round: int, round_num: int,
                   seed: int) -> list[int]:
    """The cohort of round `round_num`: `clients_per_round` distinct clients, sorted.

    A pure function of its arguments (`np.random.default_rng([seed, round_num])`), so a program
    restarted at any round picks the same clients as one that never stopped.
    """
    num_clients = check_int("num_clients", num_clients, 1)
    clients_per_round = check_int("clients_per_round", clients_per_round, 1, num_clients)
    round_num = check_int("round_num", round_num, 1)
    seed = check_int("seed", seed, 0)
    rng = np.random.default_rng([seed, round_num])
    return sorted(int(i) for i in rng.choice(num_clients, clients_per_round, replace=False))


def build_round(process, num_features: int):
    """`next_by_ref(server_state, paths)`: one round of `process` on clients given by file names.

    `process` is a `fedlab.fedavg.build_fedavg_process` process; `paths` is a `{str}@CLIENTS`
    list of client files (`fedlab.clientfiles`), read inside the computation.
    """
    import tensorflow_federated as tff

    from fedlab import clientfiles

    load_client = clientfiles.build_load_client(num_features)
    state_type = process.next.type_signature.parameter[0]

    @tff.federated_computation(state_type, tff.FederatedType(np.str_, tff.CLIENTS))
    def next_by_ref(server_state, paths):
        return process.next(server_state, tff.federated_map(load_client, paths))

    return next_by_ref


def _shapes(state) -> list[tuple[tuple[int, ...], str]]:
    import tensorflow as tf

    return [(tuple(np.shape(v)), np.asarray(v).dtype.name) for v in tf.nest.flatten(state)]


async def load_latest_state(state_dir, initial_state) -> tuple[Any, int]:
    """The latest state saved in `state_dir` and its round, or `(initial_state, 0)` if none.

    Raises `CheckpointError`, naming the folder of the bad checkpoint, if the latest one cannot
    be read (truncated, corrupted) or holds another model (other shapes or structure than
    `initial_state`). It never falls back silently to an older state or to round 0.
    """
    import tensorflow_federated as tff

    state_dir = Path(state_dir)
    manager = tff.program.FileProgramStateManager(state_dir)
    versions = await manager.get_versions()
    if versions is None:
        return initial_state, 0
    latest = versions[-1]
    path = state_dir / f"{STATE_PREFIX}{latest}"
    earlier = (f"delete it to resume from round {versions[-2]}, the latest earlier state"
               if len(versions) > 1 else "delete it to start again from round 0")
    try:
        state = await manager.load(latest, initial_state)
    except Exception as err:  # TF raises OSError, IndexError, DataLossError, ... by what broke
        reason = "holds another structure" if isinstance(err, (ValueError, TypeError)) \
            and "structure" in str(err) else f"cannot be read ({type(err).__name__})"
        raise CheckpointError(f"the saved state {path} {reason}: it is truncated, corrupted or "
                              f"from another model; {earlier}") from err
    expected, found = _shapes(initial_state), _shapes(state)
    if found != expected:
        raise CheckpointError(
            f"the saved state {path} holds arrays {found}, but this program's model has "
            f"{expected}: it was saved by another model; use a new output folder for a new model")
    if int(state.round_num) != latest:
        raise CheckpointError(f"the saved state {path} says round {int(state.round_num)}, its "
                              f"name says round {latest}; {earlier}")
    return state, latest


async def run_program(
    round_fn: Callable, initial_state, client_paths: Sequence[str], output_dir, *,
    num_rounds: int, clients_per_round: int, seed: int = 0, log: Callable[[str], None] = print,
):
    """Runs rounds up to `num_rounds`, resuming from the latest state saved in `output_dir`.

    Each round: pick the cohort with :func:`select_clients`, run `round_fn(state, paths)`,
    release its metrics (CSV and TensorBoard, key = round number), then save the state. Returns
    the final state. Files in `output_dir`: `STATE_DIR/`, `METRICS_CSV`, `TENSORBOARD_DIR/`.
    """
    import tensorflow_federated as tff

    num_rounds = check_int("num_rounds", num_rounds, 1)
    if len(client_paths) == 0:
        raise ValueError("client_paths must hold at least 1 client file, got 0")
    clients_per_round = check_int("clients_per_round", clients_per_round, 1, len(client_paths))
    output_dir = Path(output_dir)
    state_dir = output_dir / STATE_DIR
    state, done = await load_latest_state(state_dir, initial_state)
    state_manager = tff.program.FileProgramStateManager(state_dir)
    csv_manager = tff.program.CSVFileReleaseManager(
        output_dir / METRICS_CSV, save_mode=tff.program.CSVSaveMode.WRITE,
        key_fieldname="round_num")
    tensorboard_manager = tff.program.TensorBoardReleaseManager(output_dir / TENSORBOARD_DIR)
    if await state_manager.get_versions() is None:  # a fresh start: round 0 is saved too
        await state_manager.save(state, 0)
        log("started at round 0")
    else:
        log(f"resumed after round {done}")
    for round_num in range(done + 1, num_rounds + 1):
        cohort = select_clients(len(client_paths), clients_per_round, round_num, seed)
        state, metrics = round_fn(state, [client_paths[i] for i in cohort])
        await csv_manager.release(metrics, key=round_num)
        await tensorboard_manager.release(metrics, key=round_num)
        await state_manager.save(state, round_num)
        log(f"round {round_num}: train_loss {float(metrics['train_loss']):.4f}")
    return state


def main(argv: Sequence[str] | None = None) -> None:
    """The command line: `python -m fedlab.program CLIENT_DIR OUTPUT_DIR [options]`."""
    parser = argparse.ArgumentParser(prog="python -m fedlab.program", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("client_dir", help="folder of client files (fedlab.clientfiles)")
    parser.add_argument("output_dir", help="state, metrics.csv and tensorboard/ go here")
    parser.add_argument("--num-rounds", type=int, required=True)
    parser.add_argument("--clients-per-round", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-features", type=int, default=64)
    parser.add_argument("--num-classes", type=int, default=10)
    parser.add_argument("--local-epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--client-lr", type=float, default=0.3)
    parser.add_argument("--hidden-units", type=int, default=0)
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="end when this process ends (the notebook passes its kernel's pid)")
    args = parser.parse_args(argv)

    from fedlab import _processes, clientfiles, fedavg, runtime

    if args.parent_pid is not None:
        _processes.die_with_parent(args.parent_pid)

    client_dir = Path(args.client_dir)
    client_paths = sorted(str(p.resolve()) for p in client_dir.glob(f"*{clientfiles.FILE_SUFFIX}"))
    if not client_paths:
        parser.error(f"client_dir {client_dir} holds no *{clientfiles.FILE_SUFFIX} files")
    runtime.setup(seed=args.seed, verbose=False)
    process = fedavg.build_fedavg_process(
        args.num_features, args.num_classes, local_epochs=args.local_epochs,
        batch_size=args.batch_size, client_lr=args.client_lr, hidden_units=args.hidden_units,
        seed=args.seed)
    round_fn = build_round(process, args.num_features)
    log = lambda line: print(line, flush=True)  # noqa: E731
    asyncio.run(run_program(
        round_fn, process.initialize(), client_paths, args.output_dir,
        num_rounds=args.num_rounds, clients_per_round=args.clients_per_round, seed=args.seed,
        log=log))
    log("done")


if __name__ == "__main__":
    main()
