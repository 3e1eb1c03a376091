"""Smoke test of benchmarks/: the quick secagg benchmark runs and results.json keeps its schema.

Only the parts that need no TensorFlow run here (a few seconds); the TFF benchmarks are
checked by `python -m benchmarks.run --quick`. No performance figure is asserted: timings
depend on the machine and its load.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import bench_common as common
from benchmarks import bench_wire, remote_workers
from benchmarks import run as bench_run
from fedlab import workers

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def quick_secagg(tmp_path_factory):
    results = tmp_path_factory.mktemp("bench") / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--only", "secagg",
         "--results", str(results)],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(results.read_text()), proc.stdout


def test_quick_secagg_writes_records_with_the_schema(quick_secagg):
    records, _ = quick_secagg
    assert common.check_schema(records) == []
    assert {r["benchmark"] for r in records} == {"secagg", "target", "environment"}
    for rec in records:
        assert set(common.REQUIRED_KEYS) <= set(rec)


def test_quick_secagg_cell_is_correct_and_counts_bytes(quick_secagg):
    records, _ = quick_secagg
    (cell,) = [r for r in records if r["benchmark"] == "secagg"]
    assert cell["status"] == "ok"
    assert (cell["clients_per_round"], cell["vector_length"]) == (10, 1000)
    assert cell["sum_ok"] and cell["bytes_match_formula"]
    assert cell["bytes_per_client"] == sum(cell["bytes_by_round"].values())
    assert cell["expansion"] == pytest.approx(cell["bytes_per_client"] / cell["plain_bytes"])
    assert cell["seconds_per_round"] >= cell["masking_seconds"] >= 0


def test_quick_run_reports_targets_it_did_not_measure_as_na(quick_secagg):
    records, table = quick_secagg
    targets = {r["implementation"]: r for r in records if r["benchmark"] == "target"}
    assert set(targets) == {"fedlab_vs_tff_learning", "memory_growth", "secagg_masking",
                            "course_time", "wire_ratio"}
    assert all(t["verdict"] == "n/a" for t in targets.values())  # quick: none measured
    assert "== secagg" in table and "== targets" in table


def test_skipped_cells_say_why_and_keep_exact_bytes():
    costs = {"c_keygen": 1e-4, "c_mask_pair": 1e-4, "c_word": 1e-9, "c_share_pair": 1e-4,
             "c_horner": 3e-7}
    cells = bench_run.bench_secagg.plan([10, 1000], [1000, 10**6], 60.0, 6000.0, costs)
    reasons = {(n, d): reason for n, d, _, _, reason in cells}
    assert reasons[(10, 1000)] is None
    assert "budget" in reasons[(1000, 10**6)]
    n, d, t, guess, reason = cells[-1]
    rec = bench_run.bench_secagg.skipped_record(n, d, t, guess, reason)
    assert rec["status"] == "skipped" and rec["seconds_per_round"] is None
    assert rec["bytes_source"] == "formula" and rec["expansion"] > 1
    assert common.check_schema([rec]) == []


def _rounds_record(impl, cpr, seconds):
    return common.record("rounds", impl, cpr, seconds, 700.0, rounds=8, num_clients=100,
                         local_epochs=1, batch_size=10, first_round_seconds=2.0,
                         build_seconds=3.0, python_cpu_per_round=0.1, worker_cpu_per_round=0.5)


def test_targets_compare_like_with_like():
    records = [_rounds_record("fedlab", 100, 1.0), _rounds_record("tff_learning", 100, 0.8)]
    for rounds, peak in ((50, 600.0), (500, 690.0)):
        records.append(common.record("memory", "fedlab", 100, 0.7, peak, rounds=rounds,
                                     rss_mb=peak, peak_rss_growth_pct=100 * (peak / 600 - 1),
                                     growth_from_round=50))
    targets = {t["implementation"]: t for t in bench_run.evaluate_targets(records, None)}
    assert targets["fedlab_vs_tff_learning"]["verdict"] == "MISS"  # 1.25 > 1.1
    assert targets["fedlab_vs_tff_learning"]["value"] == pytest.approx(1.25)
    assert targets["memory_growth"]["verdict"] == "MISS"  # 15% >= 10%
    assert targets["secagg_masking"]["verdict"] == "n/a"
    assert common.check_schema(list(targets.values())) == []


def test_table_prints_every_section(capsys):
    records = [_rounds_record("bare_tf", 10, 0.1), _rounds_record("fedlab", 10, 0.2),
               common.record("rounds", "tff_learning", 10, None, None, status="error",
                             reason="boom"),
               common.record("course", "notebooks/00.ipynb", None, None, 800.0, seconds=30.0),
               common.record("remote_workers", "fedlab", 10, 0.3, 900.0, workers=2,
                             mode="mergeable")]
    env = {"quick": True, "started": "now", "cpus": 2, "loadavg_start": (1.0, 1.0, 1.0),
           "loadavg_end": (1.0, 1.0, 1.0), "python": "3.11",
           "versions": {"tensorflow": "2.14.1", "tensorflow-federated": "0.87.0"}}
    bench_run.print_table(records + bench_run.evaluate_targets(records, None), env)
    out = capsys.readouterr().out
    for heading in ("== rounds", "== course", "== remote workers", "== targets"):
        assert heading in out
    assert "ERROR: boom" in out


def test_schema_check_finds_problems():
    assert common.check_schema({"benchmark": "x"})  # not a list
    assert common.check_schema([{"benchmark": "rounds", "status": "ok"}])  # keys missing
    bad = common.record("rounds", "fedlab", 10, -1.0, None)
    assert common.check_schema([bad])


def test_remote_workers_uses_the_worker_pieces_of_fedlab():
    # parse_targets, LocalWorkers and set_context are tested in tests/test_workers.py
    assert remote_workers.parse_targets is workers.parse_targets
    assert remote_workers.LocalWorkers is workers.LocalWorkers
    assert remote_workers.set_context is workers.set_context
    with pytest.raises(SystemExit):  # argparse reports a bad --targets list
        remote_workers.parse_args(["--targets", "127.0.0.1"])


# ------------------------------------------------------------------ wire


@pytest.mark.parametrize("count", range(1, 13))
@pytest.mark.parametrize("parts", range(1, 6))
def test_wire_split_sizes_match_tffs_own_split(count, parts):
    import numpy as np
    import tensorflow_federated as tff
    from tensorflow_federated.python.core.impl.execution_contexts import (
        mergeable_comp_execution_context as mergeable,
    )

    chunks = mergeable._split_value_into_subrounds(  # what TFF 0.87's mergeable context does
        list(range(count)), tff.FederatedType(np.int32, tff.CLIENTS), parts)
    assert bench_wire.split_sizes(count, parts) == [len(c) for c in chunks]
    assert [c for chunk in chunks for c in chunk] == list(range(count))  # contiguous, in order


def test_wire_cohort_draws_each_chunk_from_its_own_site():
    blocks = bench_wire.site_blocks(100, 4)
    assert [len(b) for b in blocks] == [25] * 4
    cohort = bench_wire.make_cohort(blocks, 10, round_num=3, seed=0)
    assert cohort == bench_wire.make_cohort(blocks, 10, round_num=3, seed=0)  # pure
    assert cohort != bench_wire.make_cohort(blocks, 10, round_num=4, seed=0)
    start = 0
    for site, size in enumerate(bench_wire.split_sizes(10, 4)):  # 3, 3, 2, 2
        chunk = cohort[start:start + size]
        assert set(chunk) <= set(blocks[site].tolist()) and len(set(chunk)) == size
        start += size
    assert sorted(bench_wire.make_cohort(blocks, 100, 1, 0)) == list(range(100))
    with pytest.raises(ValueError, match="site 0 holds 25 clients"):
        bench_wire.make_cohort(blocks, 104, 1, 0)


def test_wire_payload_bytes_count_tensors_strings_and_datasets():
    import collections

    import numpy as np
    import tensorflow as tf
    import tensorflow_federated as tff

    state_type = tff.StructType([("weights", [tff.TensorType(np.float32, [64, 10]),
                                              tff.TensorType(np.float32, [10])]),
                                 ("round_num", tff.TensorType(np.int32))])
    state = collections.OrderedDict(weights=[np.zeros((64, 10), np.float32),
                                             np.zeros(10, np.float32)], round_num=np.int32(3))
    assert bench_wire.payload_bytes(state, state_type) == 2604
    assert bench_wire.payload_bytes(state, tff.FederatedType(state_type, tff.SERVER)) == 2604
    names = ["client_000.tfrecord", "ü.tfrecord"]
    assert bench_wire.payload_bytes(names, tff.FederatedType(np.str_, tff.CLIENTS)) == 19 + 11
    x, y = np.ones((7, 64), np.float32), np.arange(7, dtype=np.int32)
    dataset = tf.data.Dataset.from_tensor_slices(collections.OrderedDict(x=x, y=y)).batch(3)
    data_type = tff.SequenceType(collections.OrderedDict(
        x=tff.TensorType(np.float32, [None, 64]), y=tff.TensorType(np.int32, [None])))
    assert bench_wire.payload_bytes([dataset, dataset], tff.FederatedType(
        data_type, tff.CLIENTS)) == 2 * (x.nbytes + y.nbytes)
    with pytest.raises(ValueError, match="parts"):
        bench_wire.payload_bytes([1.0], state_type)


def _wire_record(data, sites, site, cpr, ratio):
    return common.record("wire", data, cpr, 0.5, 900.0, sites=sites, site=site,
                         context="sync" if sites == 1 else "mergeable", rounds=4,
                         rounds_measured=3, bytes_to_worker=70_000, bytes_from_worker=3_100,
                         predicted_to_worker=66_000, predicted_from_worker=2_612,
                         raw_data_bytes=46_800, ratio=ratio, ratio_payload_only=10 * ratio)


def test_wire_target_needs_every_site_and_cohort_size():
    full = [_wire_record("by_reference", s, i, c, 1.05)
            for s in (2, 4) for i in range(s) for c in (10, 100)]
    full.append(_wire_record("by_value", 2, 0, 10, 3.0))  # by value does not count
    assert common.check_schema(full) == []

    def verdict(records):
        (target,) = [t for t in bench_run.evaluate_targets(records, None)
                     if t["implementation"] == "wire_ratio"]
        assert common.check_schema([target]) == []
        return target["verdict"], target["value"]

    assert verdict(full) == ("PASS", pytest.approx(1.05))
    worse = full[:-1] + [_wire_record("by_reference", 4, 3, 100, 1.3)]
    assert verdict(worse) == ("MISS", pytest.approx(1.3))
    assert verdict([r for r in full if r["sites"] == 2])[0] == "n/a"  # 4 sites not measured
    assert verdict([])[0] == "n/a"


def test_wire_table_shows_every_site(capsys):
    records = [_wire_record("by_value", 1, 0, 10, 1.09), _wire_record("by_reference", 2, 1, 10,
                                                                       1.02),
               common.record("wire", "-", None, None, None, status="error", reason="boom")]
    env = {"quick": True, "started": "now", "cpus": 2, "loadavg_start": (1.0, 1.0, 1.0),
           "loadavg_end": (1.0, 1.0, 1.0), "python": "3.11",
           "versions": {"tensorflow": "2.14.1", "tensorflow-federated": "0.87.0"}}
    bench_run.print_table(records, env)
    out = capsys.readouterr().out
    assert "== wire" in out and "by_reference" in out and "ERROR: boom" in out


@pytest.mark.slow
def test_quick_wire_benchmark_measures_every_site(tmp_path):
    """`run.py --quick --only wire` (about 30 s): 1 worker and 2 sites, 10 clients per round."""
    results = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--only", "wire",
         "--results", str(results)],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = json.loads(results.read_text())
    assert common.check_schema(records) == []
    wire = [r for r in records if r["benchmark"] == "wire"]
    assert {(r["implementation"], r["sites"], r["site"]) for r in wire} == {
        (d, s, i) for d in ("by_value", "by_reference") for s in (1, 2) for i in range(s)}
    for r in wire:
        assert r["status"] == "ok" and r["clients_per_round"] == 10
        assert r["bytes_to_worker"] > 0 and r["bytes_from_worker"] > 0
        # measured bytes include the predicted payload plus the protocol around it
        assert r["ratio"] >= 1.0 and r["ratio_payload_only"] > r["ratio"]
        assert r["max_abs_diff_by_reference_vs_by_value"] < 1e-6  # the same rounds
    one = {r["implementation"]: r for r in wire if r["sites"] == 1}
    # by value, the clients' examples cross the wire; by reference only their file names do
    assert one["by_value"]["bytes_to_worker"] - one["by_reference"]["bytes_to_worker"] >= \
        0.9 * one["by_value"]["raw_data_bytes"]
    assert "== wire" in proc.stdout
