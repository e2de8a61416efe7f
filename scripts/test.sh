#!/usr/bin/env bash
# The whole test suite: installs what it needs on a fresh machine, then Rust format, lint and
# tests, Python lint, types and tests (benchmarks run once each as tests, timings off).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "test,bench"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --profile test-release
.venv/bin/ruff check python tests bench strategies
.venv/bin/ruff format --check python tests bench strategies
.venv/bin/mypy
.venv/bin/python -m pytest -q
