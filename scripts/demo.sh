#!/usr/bin/env bash
# Builds cardbridge and serves the demo address books (config/demo.toml) on 127.0.0.1:8008.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
exec cargo run --release --bin cardbridge -- serve -c config/demo.toml
