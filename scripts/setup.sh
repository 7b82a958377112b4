#!/usr/bin/env bash
# Makes sure the system packages cardbridge needs are present: installs them with apt-get when
# running as root on Debian/Ubuntu, otherwise says exactly what to install.
#   scripts/setup.sh build   -> what building needs (cmake, a C compiler)
#   scripts/setup.sh test    -> what the test suite needs too (vdirsyncer; OpenLDAP's slapd and
#                               ldap-utils for the directory tests; Samba's AD DC for the
#                               Active Directory tests; openssl for their TLS;
#                               libwbxml2-utils, an independent WBXML encoder for the ActiveSync tests;
#                               SyncEvolution and Evolution Data Server for the client tests)
set -euo pipefail
need="${1:-build}"

missing_pkgs=()
command -v cmake >/dev/null 2>&1 || missing_pkgs+=(cmake)
command -v cc >/dev/null 2>&1 || missing_pkgs+=(gcc)
command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install the Rust toolchain (https://rustup.rs) first" >&2; exit 1; }

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
  # SyncEvolution 2.0 (CLI, CardDAV and file backends, local-sync helper) and Evolution Data
  # Server 3.46 (headless on a private D-Bus session, driven by Debian's python3 through
  # GObject introspection): real CardDAV clients of the client tests.
  command -v syncevolution >/dev/null 2>&1 && [ -x /usr/libexec/syncevo-local-sync ] \
    || missing_pkgs+=(syncevolution syncevolution-libs)
  [ -x /usr/libexec/evolution-addressbook-factory ] || missing_pkgs+=(evolution-data-server)
  command -v dbus-run-session >/dev/null 2>&1 || missing_pkgs+=(dbus-daemon)
  /usr/bin/python3 -c 'import gi; gi.require_version("EBook", "1.2"); gi.require_version("EDataServer", "1.2")' 2>/dev/null \
    || missing_pkgs+=(python3-gi gir1.2-ebook-1.2 gir1.2-edataserver-1.2)
fi

if [ ${#missing_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing_pkgs[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing_pkgs[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${missing_pkgs[*]}" >&2
    echo "setup: install them, e.g.: sudo apt-get install ${missing_pkgs[*]}" >&2
    exit 1
  fi
fi

if [ "$need" = "test" ]; then
  # vdirsyncer is the real CardDAV client the end-to-end test syncs with.
  if ! command -v vdirsyncer >/dev/null 2>&1 || ! python3 -c "import vobject" 2>/dev/null; then
    echo "setup: installing vdirsyncer and vobject (PyPI): the end-to-end client and a strict vCard parser" >&2
    if ! python3 -m pip install --quiet --disable-pip-version-check vdirsyncer vobject 2>/dev/null \
       && ! python3 -m pip install --quiet --disable-pip-version-check --break-system-packages vdirsyncer vobject; then
      echo "setup: could not install vdirsyncer; install them with: python3 -m pip install vdirsyncer vobject" >&2
      exit 1
    fi
  fi
  # phonenumbers is Google's libphonenumber for Python: the oracle of the phone-number test, at
  # the metadata version of the phonenumber crate in Cargo.lock (0.3.10+9.0.33).
  phonenumbers=phonenumbers==9.0.33
  if ! python3 -c "import phonenumbers; assert phonenumbers.__version__ == '${phonenumbers#*==}'" 2>/dev/null; then
    echo "setup: installing $phonenumbers (PyPI): libphonenumber, the phone-number test's oracle" >&2
    if ! python3 -m pip install --quiet --disable-pip-version-check "$phonenumbers" 2>/dev/null \
       && ! python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$phonenumbers"; then
      echo "setup: could not install phonenumbers; install it with: python3 -m pip install $phonenumbers" >&2
      exit 1
    fi
  fi
fi

if [ "$need" = "test" ]; then
  # Thunderbird 153 ESR (Debian's package), the real client of tests/client_thunderbird.rs,
  # driven headless through Marionette.
  if ! thunderbird --version 2>/dev/null | grep -q 'Thunderbird 153\.'; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      echo "setup: installing thunderbird (153 ESR) with apt-get" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >/dev/null
      apt-get install -y -qq thunderbird >/dev/null
    fi
    if ! thunderbird --version 2>/dev/null | grep -q 'Thunderbird 153\.'; then
      echo "setup: Thunderbird 153 ESR is needed: sudo apt-get install thunderbird (Debian 12 security: 1:153.x esr)" >&2
      exit 1
    fi
  fi
  # Real clients of the client tests: tsdav (npm, pinned by the package-lock.json next to its
  # driver in tests/clients/tsdav) and cadaver (Debian).
  client_pkgs=()
  command -v npm >/dev/null 2>&1 || client_pkgs+=(nodejs npm)
  command -v cadaver >/dev/null 2>&1 || client_pkgs+=(cadaver)
  if [ ${#client_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      echo "setup: installing ${client_pkgs[*]} with apt-get (client tests)" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >/dev/null
      apt-get install -y -qq "${client_pkgs[@]}" >/dev/null
    else
      echo "setup: missing ${client_pkgs[*]}: install them, e.g.: sudo apt-get install ${client_pkgs[*]}" >&2
      exit 1
    fi
  fi
  tsdav_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/clients/tsdav"
  tsdav_installed="$(node -p "require('$tsdav_dir/node_modules/tsdav/package.json').version" 2>/dev/null || true)"
  if [ "$tsdav_installed" != "2.3.4" ]; then
    echo "setup: installing tsdav (npm ci in tests/clients/tsdav)" >&2
    npm ci --prefix "$tsdav_dir" --no-audit --no-fund --silent
  fi
  # The caldav PyPI library, whose generic DAV layer tests/client_caldav.rs syncs with.
  caldav=caldav==3.6.0
  if ! python3 -c "import caldav; assert caldav.__version__ == '${caldav#*==}'" 2>/dev/null; then
    echo "setup: installing $caldav (PyPI): the caldav client library" >&2
    if ! python3 -m pip install --quiet --disable-pip-version-check "$caldav" 2>/dev/null \
       && ! python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$caldav"; then
      echo "setup: could not install caldav; install it with: python3 -m pip install $caldav" >&2
      exit 1
    fi
  fi
fi
