"""The ``hftcore`` command and its demo."""

from __future__ import annotations

import pytest
from hftcore.cli import main
from hftcore.demo import run_demo


def test_demo_replays_the_generated_flow_and_reports_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--events", "20000", "--seed", "3"]) == 0
    output = capsys.readouterr().out
    assert "L3 book bulk replay" in output
    assert "L2 book bulk replay" in output
    report = run_demo(events=20_000, seed=3)
    assert report.counts["L3 messages applied"] >= 20_000
    assert report.counts["L2 deltas applied"] == report.counts["L3 messages applied"]
    assert report.counts["resting orders at the end"] > 0
    # The flow reaches the matching engine through the risk gate: trades happen, and the gate
    # refuses the oversized orders the flow contains.
    assert report.counts["fill events"] > 0
    assert report.counts["volume traded (lots)"] >= report.counts["fill events"] // 2
    assert "risk gate + matching engine" in output
    assert all(rate > 0 for rate in report.stages.values())
    best_bid, best_ask = report.top_levels[0][1], report.top_levels[0][2]
    assert float(best_bid) < float(best_ask)


def test_bad_arguments_name_the_problem(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--events", "0"])
    assert exit_info.value.code == 2
    assert "--events" in capsys.readouterr().err
    with pytest.raises(ValueError, match="events must be positive"):
        run_demo(events=-1)
