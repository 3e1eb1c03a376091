"""fedlab.report (tests/test_report.py is the test-run report's): notebook 07's Markdown report."""

from __future__ import annotations

import pytest

from fedlab import report

PER_CLIENT = {"a": {"alone": 0.9, "federated": 0.95}, "b": {"alone": 0.8, "federated": 0.93}}
GLOBAL = {"alone": 0.85, "federated": 0.94}
HISTORY = {"federated": [0.7, 0.9, 0.94]}


def test_report_has_a_row_per_client_and_the_figures(tmp_path):
    path = report.write_report(tmp_path / "out", PER_CLIENT, GLOBAL, HISTORY,
                             client_names=["b", "a"], title="Trial", notes=["Two clients."])
    assert path == tmp_path / "out" / "report.md"
    text = path.read_text()
    assert text.startswith("# Trial\n\nTwo clients.\n")
    assert "| client | alone | federated |" in text
    assert "| a | 0.900 | 0.950 |" in text and "| b | 0.800 | 0.930 |" in text
    assert "| **all clients** | **0.850** | **0.940** |" in text
    assert "| federated | 3 | 0.700 | 0.940 | 0.940 |" in text
    for png in ("per_client.png", "per_round.png"):
        assert f"]({png})" in text
        assert (tmp_path / "out" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_is_the_same_when_written_again(tmp_path):
    first = report.write_report(tmp_path, PER_CLIENT, GLOBAL, HISTORY).read_bytes()
    figure = (tmp_path / "per_client.png").read_bytes()
    assert report.write_report(tmp_path, PER_CLIENT, GLOBAL, HISTORY).read_bytes() == first
    assert (tmp_path / "per_client.png").read_bytes() == figure


def test_report_without_history_drops_a_stale_round_figure(tmp_path):
    report.write_report(tmp_path, PER_CLIENT, GLOBAL, HISTORY)
    text = report.write_report(tmp_path, PER_CLIENT, GLOBAL).read_text()
    assert "per_round.png" not in text and not (tmp_path / "per_round.png").exists()


def test_report_escapes_pipes_in_names(tmp_path):
    text = report.write_report(tmp_path, {"a|b": {"acc": 1.0}}, {"acc": 1.0}).read_text()
    assert "| a\\|b | 1.000 |" in text


@pytest.mark.parametrize("per_client, global_metrics, message", [
    ({}, GLOBAL, "per_client_metrics must be a non-empty mapping"),
    ({"a": {}}, GLOBAL, r"per_client_metrics\['a'\] must be a non-empty mapping"),
    ({"a": {"alone": 0.9}, "b": {"federated": 0.9}}, GLOBAL,
     r"per_client_metrics\['b'\] has metrics \['federated'\], but 'a' has \['alone'\]"),
    (PER_CLIENT, {}, "global_metrics must be a non-empty mapping"),
    (PER_CLIENT, {"alone": 0.8}, r"global_metrics has metrics \['alone'\], but the clients have"),
    ({"a": {"alone": float("nan")}}, {"alone": 0.9},
     r"per_client_metrics\['a'\]\['alone'\] must be a finite number, got nan"),
    ({"": {"alone": 0.9}}, {"alone": 0.9}, "client names must be non-empty strings"),
])
def test_report_refuses_bad_metrics(tmp_path, per_client, global_metrics, message):
    with pytest.raises(ValueError, match=message):
        report.write_report(tmp_path, per_client, global_metrics)
    assert not (tmp_path / "report.md").exists()


@pytest.mark.parametrize("per_client, global_metrics, message", [
    ({"a": {"alone": "high"}}, {"alone": 0.9},
     r"per_client_metrics\['a'\]\['alone'\] must be a finite number, got 'high'"),
    ({"a": {"alone": 0.9}}, {"alone": None}, r"global_metrics\['alone'\] must be a finite number"),
])
def test_report_refuses_metrics_that_are_not_numbers(tmp_path, per_client, global_metrics,
                                                      message):
    with pytest.raises(TypeError, match=message):
        report.write_report(tmp_path, per_client, global_metrics)
    assert not (tmp_path / "report.md").exists()


def test_report_refuses_mismatched_client_names(tmp_path):
    match = r"does not match client_names: missing \['c'\], unexpected \['b'\]"
    with pytest.raises(ValueError, match=match):
        report.write_report(tmp_path, PER_CLIENT, GLOBAL, client_names=["a", "c"])


@pytest.mark.parametrize("history, message", [
    ({}, "history must be None or a non-empty mapping"),
    ({"federated": []}, r"history\['federated'\] must be a non-empty sequence"),
    ({"federated": "0.9"}, r"history\['federated'\] must be a non-empty sequence"),
    ({"federated": [0.5, float("inf")]}, r"history\['federated'\]\[1\] must be a finite number"),
])
def test_report_refuses_bad_history(tmp_path, history, message):
    with pytest.raises(ValueError, match=message):
        report.write_report(tmp_path, PER_CLIENT, GLOBAL, history)


def test_report_folder_must_not_be_a_file(tmp_path):
    (tmp_path / "report").write_text("")
    with pytest.raises(ValueError, match="is a file; write_report needs a folder"):
        report.write_report(tmp_path / "report", PER_CLIENT, GLOBAL)


def test_report_findings_come_first_one_bullet_each(tmp_path):
    findings = ["2 of 2 clients do better alone.", "epsilon 24.8,\n which protects little."]
    text = report.write_report(tmp_path, PER_CLIENT, GLOBAL, findings=findings).read_text()
    assert "## Findings\n\n- 2 of 2 clients do better alone.\n" in text
    assert "- epsilon 24.8, which protects little.\n" in text  # one line per bullet
    assert text.index("## Findings") < text.index("## Results") < text.index("| client |")
    empty = report.write_report(tmp_path / "b", PER_CLIENT, GLOBAL, findings=[]).read_text()
    assert "## Findings\n\nnone\n" in empty
    assert "## Findings" not in report.write_report(tmp_path / "c", PER_CLIENT, GLOBAL).read_text()


@pytest.mark.parametrize("findings, message", [
    ("one finding", "findings must be None or a list of sentences"),
    ([""], r"findings\[0\] must be a non-empty string"),
    (["ok", 3], r"findings\[1\] must be a non-empty string"),
])
def test_report_refuses_bad_findings(tmp_path, findings, message):
    with pytest.raises(ValueError, match=message):
        report.write_report(tmp_path, PER_CLIENT, GLOBAL, findings=findings)
