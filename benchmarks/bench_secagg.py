"""Secure aggregation (`fedlab.secagg.secure_sum`): time and bytes against clients and length.

`run.py` calls :func:`calibrate` and :func:`plan` in its own process, then runs each cell of
the grid that fits the time and memory budgets in a fresh child process
(`python -m benchmarks.bench_secagg --clients N --length D --out FILE`), so that each cell's
peak memory is its own. A cell predicted to exceed a budget is recorded as skipped, with the
prediction and the reason.

What one cell measures: one call of `secure_sum` over N random float vectors of length D
(32-bit modulus, the default step, threshold t = N // 2 + 1 unless given, no dropouts), with
its time split by protocol round. The rounds are timed by wrapping the module's round
functions (`advertise_keys`, `share_keys`, `masked_input_collection`, `unmasking_reply`,
`unmasking`) for the duration of the call; `secure_sum` itself is unchanged (its
`secagg.Client` objects call those same module functions, so the wrappers see every call).
"masking" is round 2, MaskedInputCollection, summed over all N clients: each client expands
N - 1 pairwise seeds and its own self-mask seed with the AES-CTR PRG. Bytes are what
`secure_sum` counts per client (`SecureSumResult.bytes_sent`), and the expansion factor is the
bytes sent by a client that takes part in every round over the bytes of its vector sent in the
clear (D * 32 bits).

Cost model (seconds; c_* measured by :func:`calibrate` on this machine):
    advertise  N * c_keygen
    share      N * (2 * N * t * c_horner + N * c_share_pair)      Shamir-share 2 secrets, encrypt
    masking    N * N * (c_mask_pair + D * c_word)                 N - 1 pairwise masks + self mask
    reply      N * N * c_share_pair                               decrypt the shares received
    unmasking  N * (2 t c_horner + c_mask_pair + D c_word) + t^2 c_horner    rebuild, unmask
               + N * (N - t) * t * c_horner      check the N - t spare shares of each secret
The n^2 terms are why 1,000 clients take minutes: share and reply alone are 2 * 10^6 key
agreements, and masking at D = 10^6 expands 10^6 masks of 10^6 words.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import time

import numpy as np

from benchmarks import bench_common as common

ROUNDS = ("advertise_keys", "share_keys", "masked_input_collection", "unmasking_reply",
          "unmasking")
PHASE_NAMES = {"advertise_keys": "advertise", "share_keys": "share",
               "masked_input_collection": "masking", "unmasking_reply": "reply",
               "unmasking": "unmasking"}
MODULUS_BITS = 32


def default_threshold(num_clients: int) -> int:
    """t = N // 2 + 1: a majority of the clients must answer for the sum to be recovered."""
    return max(2, num_clients // 2 + 1)


@contextlib.contextmanager
def timed_rounds():
    """Wraps secagg's round functions with timers.

    Yields `(wall, cpu)`: seconds summed per round name, wall-clock and this process's CPU.
    On a busy machine the wall time grows with the other processes' load; the CPU time much less.
    """
    from fedlab import secagg

    wall = {name: 0.0 for name in ROUNDS}
    cpu = {name: 0.0 for name in ROUNDS}
    originals = {name: getattr(secagg, name) for name in ROUNDS}

    def wrap(name, fn):
        def timed(*args, **kwargs):
            start, start_cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                wall[name] += time.perf_counter() - start
                cpu[name] += time.process_time() - start_cpu
        return timed

    for name, fn in originals.items():
        setattr(secagg, name, wrap(name, fn))
    try:
        yield wall, cpu
    finally:
        for name, fn in originals.items():
            setattr(secagg, name, fn)


def bytes_per_client(num_clients: int, length: int, modulus_bits: int = MODULUS_BITS) -> dict:
    """Bytes one client sends when it takes part in every round, as `secure_sum` counts them."""
    from fedlab import secagg

    plain = math.ceil(length * modulus_bits / 8)
    sent = {
        "advertise_keys": 2 * secagg.PUBLIC_KEY_BYTES,
        "share_keys": (num_clients - 1) * secagg.SHARE_MESSAGE_BYTES,
        "masked_input_collection": plain,
        "unmasking": num_clients * secagg.FIELD_BYTES,  # one share per survivor, none dropped
    }
    total = sum(sent.values())
    return {"bytes_per_client": total, "bytes_by_round": sent, "plain_bytes": plain,
            "expansion": total / plain}


def _mean_seconds(fn, repeat: int) -> float:
    """Mean wall time of `fn()` over `repeat` calls (a mean, not a best: the budget is
    about how long the cell will take on this machine as it is now, busy or not)."""
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def calibrate(length: int = 100_000) -> dict[str, float]:
    """Seconds per unit of work of each step of the protocol, measured with secagg's own code.

    c_keygen: one client's two key pairs. c_mask_pair: one pairwise mask of a short vector
    (key agreement, HKDF, AES-CTR set-up, add). c_word: one more word of a mask (AES-CTR, add).
    Both come from timing round 2 (`masked_input_collection`) for a client with one peer, at a
    short and a long length: that call expands two masks (the self mask and the pair's).
    c_share_pair: one encrypted share message (key agreement, HKDF, AES-GCM), also the cost of
    decrypting one. c_horner: one step of Shamir's polynomial evaluation (a 255-bit mulmod).
    """
    import random

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from fedlab import secagg

    randbytes = random.Random(0).randbytes
    me, mine = secagg.advertise_keys(0, randbytes)
    _, other = secagg.advertise_keys(1, randbytes)
    keys = {0: mine, 1: other}
    me, _ = secagg.share_keys(me, keys, 2, randbytes)  # draws the self-mask seed b
    s_sk = X25519PrivateKey.from_private_bytes(me.s_sk.to_bytes(secagg.FIELD_BYTES, "little"))
    short = 16
    x_short, x_long = np.zeros(short, dtype=np.uint64), np.zeros(length, dtype=np.uint64)

    def share_pair():
        key = secagg.agree(s_sk, other.c_pk, secagg.SHARE_INFO)
        AESGCM(key).encrypt(bytes(12), bytes(72), None)

    # Round 2 for a client with one peer expands two masks: its self mask and one pairwise mask.
    t_short = _mean_seconds(
        lambda: secagg.masked_input_collection(me, x_short, keys, MODULUS_BITS), 200)
    t_long = _mean_seconds(
        lambda: secagg.masked_input_collection(me, x_long, keys, MODULUS_BITS), 20)
    c_mask_pair = t_short / 2
    c_long = t_long / 2
    num_shares, t = 100, 50
    return {
        "c_keygen": _mean_seconds(lambda: secagg.advertise_keys(0, randbytes), 50),
        "c_mask_pair": c_mask_pair,
        "c_word": max(c_long - c_mask_pair, 0.0) / (length - short),
        "c_share_pair": _mean_seconds(share_pair, 200),
        "c_horner": _mean_seconds(lambda: secagg.shamir_share(12345, t, num_shares, randbytes),
                                  5) / (num_shares * t),
    }


def predict(num_clients: int, length: int, threshold: int, costs: dict) -> dict:
    """Predicted seconds by round and in all, and peak memory in MB, of one cell."""
    n, d, t = num_clients, length, threshold
    c = costs
    seconds = {
        "advertise": n * c["c_keygen"],
        "share": n * (2 * n * t * c["c_horner"] + n * c["c_share_pair"]),
        "masking": n * (n * (c["c_mask_pair"] + d * c["c_word"])),
        "reply": n * n * c["c_share_pair"],
        "unmasking": n * (2 * t * c["c_horner"] + c["c_mask_pair"] + d * c["c_word"])
                     + t * t * c["c_horner"] + n * (n - t) * t * c["c_horner"],
    }
    # inputs (float64), encodings (uint64) and masked inputs (uint64), N of each, plus Python.
    memory_mb = 3 * n * d * 8 / 1e6 + 150
    return {"seconds": sum(seconds.values()), "by_round": seconds, "memory_mb": memory_mb}


def plan(clients: list[int], lengths: list[int], budget_seconds: float, budget_mb: float,
         costs: dict) -> list[tuple[int, int, int, dict, str | None]]:
    """Every cell with its threshold, prediction and why it is skipped (None: run it)."""
    cells = []
    for n in clients:
        for d in lengths:
            t = default_threshold(n)
            guess = predict(n, d, t, costs)
            reason = None
            if guess["seconds"] > budget_seconds:
                reason = (f"predicted {guess['seconds']:.0f} s > budget {budget_seconds:.0f} s "
                          "(--secagg-budget)")
            elif guess["memory_mb"] > budget_mb:
                reason = (f"predicted {guess['memory_mb']:.0f} MB > budget {budget_mb:.0f} MB "
                          "(--secagg-max-mb)")
            cells.append((n, d, t, guess, reason))
    return cells


def skipped_record(n: int, d: int, t: int, guess: dict, reason: str) -> dict:
    """A skipped cell: no time measured; bytes from the protocol's formula (they are exact)."""
    return common.record(
        "secagg", "fedlab.secagg", n, None, None, status="skipped", reason=reason,
        vector_length=d, threshold=t, modulus_bits=MODULUS_BITS,
        predicted_seconds=guess["seconds"], predicted_by_round=guess["by_round"],
        predicted_memory_mb=guess["memory_mb"], bytes_source="formula",
        **bytes_per_client(n, d))


def run_cell(num_clients: int, length: int, threshold: int, seed: int = 0) -> dict:
    from fedlab import secagg

    rng = np.random.default_rng(seed)
    vectors = [rng.uniform(-1.0, 1.0, length) for _ in range(num_clients)]
    expected = np.sum(vectors, axis=0)
    with timed_rounds() as (by_round, cpu_by_round):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = secagg.secure_sum(vectors, threshold, seed=seed, modulus_bits=MODULUS_BITS)
        total, total_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    error = float(np.max(np.abs(result.total - expected)))
    counted = max(result.bytes_sent.values(), key=lambda b: b.total)
    formula = bytes_per_client(num_clients, length)
    phases = {PHASE_NAMES[k]: v for k, v in by_round.items()}
    phases["other"] = total - sum(by_round.values())  # encode, decode, checks
    cpu_phases = {PHASE_NAMES[k]: v for k, v in cpu_by_round.items()}
    return common.record(
        "secagg", "fedlab.secagg", num_clients, total, common.peak_rss_mb(),
        vector_length=length, threshold=threshold, modulus_bits=MODULUS_BITS,
        masking_seconds=phases["masking"], masking_cpu_seconds=cpu_phases["masking"],
        cpu_seconds=total_cpu, seconds_by_round=phases, cpu_seconds_by_round=cpu_phases,
        bytes_per_client=counted.total,
        bytes_by_round={"advertise_keys": counted.advertise_keys,
                        "share_keys": counted.share_keys,
                        "masked_input_collection": counted.masked_input_collection,
                        "unmasking": counted.unmasking},
        plain_bytes=result.plain_bytes, expansion=result.expansion, bytes_source="measured",
        bytes_match_formula=counted.total == formula["bytes_per_client"],
        max_abs_error=error, error_bound=result.error_bound,
        sum_ok=error <= result.error_bound + 1e-9 * max(1.0, float(np.max(np.abs(expected)))),
    )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="One secure_sum cell (a child of run.py).")
    p.add_argument("--clients", type=int, required=True)
    p.add_argument("--length", type=int, required=True)
    p.add_argument("--threshold", type=int, default=None, help="default: clients // 2 + 1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--calibrate", action="store_true", help="print the unit costs and exit")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.calibrate:
        costs = calibrate()
        common.write_records(args.out, [costs])
        return
    threshold = args.threshold or default_threshold(args.clients)
    rec = run_cell(args.clients, args.length, threshold, args.seed)
    common.progress(f"secagg n={args.clients} d={args.length}: {rec['seconds_per_round']:.2f} s, "
                    f"masking {rec['masking_seconds']:.2f} s, expansion {rec['expansion']:.3f}")
    common.write_records(args.out, [rec])


if __name__ == "__main__":
    main()
