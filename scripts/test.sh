#!/usr/bin/env bash
# Runs what CI runs and what a reviewer checks, cheapest first so a failure shows early and on
# its own: formatting, clippy (which also compiles every target, benches included), rustdoc,
# the whole test suite (unit tests, and integration tests against the real server over real
# sockets, including real CardDAV clients), and finally the release build of the benchmarks
# (built, not run). Arguments go to `cargo test`, e.g. `scripts/test.sh --test ldap`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test

# step NAME COMMAND...: runs one check, timed; on failure names the step and stops.
step() {
  local name="$1" start=$SECONDS
  shift
  echo "==> $name: $*" >&2
  if ! "$@"; then
    echo "==> FAILED: $name (after $((SECONDS - start)) s): $*" >&2
    exit 1
  fi
  echo "==> ok: $name ($((SECONDS - start)) s)" >&2
}

step format cargo fmt --all -- --check
step clippy cargo clippy --workspace --all-targets -- -D warnings
step rustdoc env RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps
step tests cargo test --workspace --lib --bins --tests "$@"
# Only the bench targets (`--bench '*'`): a plain `cargo bench --no-run` would also build the
# library's unit tests a second time, optimised.
step benches-build cargo bench --no-run --bench '*'
echo "==> all checks passed ($SECONDS s)" >&2
