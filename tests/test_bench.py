"""Smoke test of benchmarks/: the quick secagg benchmark runs and results.json keeps its schema.

Only the parts that need no TensorFlow run here (a few seconds); the TFF benchmarks are
checked by `python benchmarks/run.py --quick`. No performance figure is asserted: timings
depend on the machine and its load.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_common as common  # noqa: E402
import remote_workers  # noqa: E402
import run as bench_run  # noqa: E402


@pytest.fixture(scope="module")
def quick_secagg(tmp_path_factory):
    results = tmp_path_factory.mktemp("bench") / "results.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--only", "secagg",
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
                            "course_time"}
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


@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1:8000", ["127.0.0.1:8000"]),
    ("127.0.0.1:8000, 127.0.0.1:8001", ["127.0.0.1:8000", "127.0.0.1:8001"]),
])
def test_parse_targets(text, expected):
    assert remote_workers.parse_targets(text) == expected


@pytest.mark.parametrize("text", ["", "127.0.0.1", "127.0.0.1:http", ":8000", "host:70000"])
def test_parse_targets_rejects_bad_lists(text):
    with pytest.raises(ValueError, match="HOST:PORT|empty"):
        remote_workers.parse_targets(text)
