#!/usr/bin/env bash
# Installs the Debian 12 packages energy-monitor builds and tests with (sudo when not root). Idempotent.
set -euo pipefail
# zlib1g-dev: ZIPFoundation (workbooks). systemd (systemd-analyze), python3-prometheus-client, python3-openpyxl,
# libreoffice-calc-nogui and logrotate: the tests check the unit, /metrics, the exported workbooks and rotation;
# python3-aiosmtpd and openssl: a real SMTP server and the certificates of the TLS receivers.
packages=(libmodbus-dev libsqlite3-dev zlib1g-dev pkg-config sqlite3 systemd python3-prometheus-client python3-openpyxl
    libreoffice-calc-nogui logrotate python3-aiosmtpd openssl "$@")
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
