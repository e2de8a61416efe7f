"""hftbacktest side by side, as part of the suite: ``scripts/compare-hftbacktest.sh`` builds
its scratch environment (hftbacktest pins numpy through numba, so it cannot share ``.venv``)
and replays the same L2 stream through both, checking that they end on the same top of book.
Under ``--benchmark-disable`` one round is enough to check that; ``--benchmark-enable`` runs the
full alternating rounds and the rates go to the output (see bench/RESULTS.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_hftbacktest_and_run_book_replay_the_same_stream_to_the_same_book(
    request: pytest.FixtureRequest,
) -> None:
    timed = not request.config.getoption("benchmark_disable")
    environment = {**os.environ, "HBT_ROUNDS": "7" if timed else "1"}
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "compare-hftbacktest.sh")],
        capture_output=True,
        text=True,
        env=environment,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    sys.stdout.write(done.stdout)
    assert re.search(r"records: 1,108,299", done.stdout)
    assert re.search(r"both end on best bid/ask \(\d+\.\d+, \d+\.\d+\)", done.stdout)
    rates = re.findall(r"([\d,]+) records/s", done.stdout)
    assert len(rates) == 2
    assert all(int(rate.replace(",", "")) > 0 for rate in rates)
