#!/usr/bin/env bash
# Runs the whole test suite: unit tests, and integration tests against the real server over
# real sockets (including a real CardDAV client, vdirsyncer).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
cargo test --workspace --lib --bins --tests "$@"
