#!/usr/bin/env bash
# hftbacktest side by side with run_book on the same L2 stream (bench/compare_hftbacktest.py).
# hftbacktest pins numpy through numba, so it runs from a scratch environment that sees the
# package built by scripts/setup.sh; nothing of it enters .venv or the project's dependencies.
# The scratch environment gets hftbacktest and the package's runtime dependencies (read from
# pyproject.toml), and is brought up to date on every run.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${HBT_VENV:-/tmp/hftcore-hftbacktest-venv}"
[ -x "$scratch/bin/python" ] || python3 -m venv "$scratch"
mapfile -t runtime < <(python3 -c '
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))')
"$scratch/bin/pip" install --quiet "hftbacktest==2.4.4" "${runtime[@]}"
PYTHONPATH="$PWD/python" "$scratch/bin/python" bench/compare_hftbacktest.py
