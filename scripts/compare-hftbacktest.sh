#!/usr/bin/env bash
# hftbacktest side by side with run_book on the same L2 stream (bench/compare_hftbacktest.py).
# hftbacktest pins numpy through numba, so it runs from a scratch environment that sees the
# package built by scripts/setup.sh; nothing of it enters .venv or the project's dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${HBT_VENV:-/tmp/hftcore-hftbacktest-venv}"
if [ ! -x "$scratch/bin/python" ]; then
  python3 -m venv "$scratch"
  "$scratch/bin/pip" install --quiet "hftbacktest==2.4.4" "msgspec>=0.18" "pyarrow>=17"
fi
PYTHONPATH="$PWD/python" "$scratch/bin/python" bench/compare_hftbacktest.py
