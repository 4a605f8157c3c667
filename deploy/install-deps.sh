#!/usr/bin/env bash
# Installs the Debian 12 packages energy-monitor builds and tests with (sudo when not root). Idempotent.
#
#   deploy/install-deps.sh           what building and the demo need
#   deploy/install-deps.sh --test    and what the tests need besides: a browser, its driver, LibreOffice, a PostgreSQL
#                                    server (the tests start their own in a temporary directory), the Debian
#                                    packaging tools and mmdebstrap, and the Python peers
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# zlib1g-dev: ZIPFoundation (workbooks). python3-aiosmtpd and openssl: the demo's SMTP server with STARTTLS.
packages=(libmodbus-dev libsqlite3-dev zlib1g-dev pkg-config sqlite3 python3-aiosmtpd openssl)
tests=false
if [ "${1:-}" = --test ]; then
    tests=true
    # systemd (systemd-analyze), python3-prometheus-client, python3-openpyxl, libreoffice-calc-nogui and logrotate:
    # the tests check the unit, /metrics, the exported workbooks and rotation.
    # The console in a real browser (Chromium, its driver, selenium); python3-venv for the PyPI packages.
    # postgresql-15: the central database figures are shipped to (initdb and pg_ctl only; no cluster is used).
    # poppler-utils: pdftotext reads the workbooks as LibreOffice prints them.
    # dpkg-dev, binutils, help2man, lintian: deploy/build-deb.sh and its checks; mmdebstrap: the Debian 12 root the
    # packages are installed into under a real systemd (deploy/test-package.sh).
    packages+=(systemd python3-prometheus-client python3-openpyxl libreoffice-calc-nogui logrotate chromium chromium-driver
        python3-selenium python3-venv postgresql-15 poppler-utils dpkg-dev binutils help2man lintian mmdebstrap)
fi
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    as_root=()
    [ "$(id -u)" -eq 0 ] || as_root=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
venv="$root/.build/test-venv"
if $tests && ! { [ -x "$venv/bin/st" ] && "$venv/bin/python" -c 'import pymodbus, dlt645' 2>/dev/null; }; then
    # Kept in the build folder, out of git: schemathesis checks every API route against openapi.yaml; pymodbus and
    # dlt645 are independent peers for the serial-line protocols (versions pinned: their APIs move).
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install -q schemathesis pymodbus==3.16.1 dlt645==3.2.0
fi
