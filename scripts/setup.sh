#!/usr/bin/env bash
# Creates .venv, builds the Rust extension in release mode and installs hftcore into it.
# Idempotent: re-running rebuilds what changed. Extras to install: $1 (e.g. "test,bench").
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip "maturin>=1.9,<2"
if [ -n "$extras" ]; then
  spec=".[${extras}]"
else
  spec="."
fi
# maturin's editable build goes through pip, so the dependencies from pyproject.toml come along.
VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH" \
  .venv/bin/maturin develop --release --quiet ${extras:+--extras "$extras"}
