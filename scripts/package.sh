#!/usr/bin/env bash
# Builds the Debian package (target/debian/cardbridge_<version>-1_<arch>.deb): a release build,
# the man pages written by that binary from its CLI definitions, then cargo deb with the
# [package.metadata.deb] of Cargo.toml. Not part of the test suite: the release build takes
# minutes.
#   scripts/package.sh             build and package
#   scripts/package.sh --no-build  package the existing target/release/cardbridge
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
if ! cargo deb --version >/dev/null 2>&1; then
  echo "package: installing cargo-deb 3.8.0 (crates.io)" >&2
  cargo install cargo-deb --version 3.8.0 --locked
fi
if [ "${1:-}" != "--no-build" ]; then
  cargo build --release --locked --bin cardbridge
fi
rm -rf target/man
target/release/cardbridge man target/man
deb="$(cargo deb --no-build)"
dpkg-deb --info "$deb"
dpkg-deb --contents "$deb"
if command -v lintian >/dev/null 2>&1; then
  lintian "$deb" || true
fi
echo "$deb"
