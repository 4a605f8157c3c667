#!/usr/bin/env bash
# Installs energy-monitor as a systemd service: release binaries, the unit, sysusers.d and tmpfiles.d entries,
# logrotate for the alert log, and (only where none exists yet) the example configuration. Idempotent.
#
#   deploy/install.sh                      build a release and install into / (as root)
#   DESTDIR=/tmp/root deploy/install.sh    install into a staging root (no systemctl, no users created)
#   PREFIX=/usr                            where binaries and docs go (default /usr/local)
#   deploy/install.sh --bin-dir DIR        install binaries already built in DIR instead of building
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${PREFIX:-/usr/local}
dest=${DESTDIR:-}
bin=""
while [ $# -gt 0 ]; do
    case "$1" in
        --bin-dir) bin=$2; shift 2 ;;
        *) echo "usage: [DESTDIR=…] [PREFIX=…] $0 [--bin-dir DIR]" >&2; exit 64 ;;
    esac
done

if [ -z "$bin" ]; then
    "$root/deploy/install-deps.sh"
    (cd "$root" && swift build -c release 2>&1 | tail -n 1)
    bin=$(cd "$root" && swift build -c release --show-bin-path)
fi

install -d -m 0755 "$dest$prefix/bin" "$dest/etc/systemd/system" "$dest/usr/lib/sysusers.d" "$dest/usr/lib/tmpfiles.d" \
    "$dest/etc/logrotate.d" "$dest/etc/energyd/enterprises.d" "$dest$prefix/share/doc/energy-monitor"
for tool in energyd energyctl; do
    install -m 0755 "$bin/$tool" "$dest$prefix/bin/$tool"
done
sed "s#/usr/local/bin#$prefix/bin#g; s#/usr/local/share#$prefix/share#g" "$root/deploy/energyd.service" >"$dest/etc/systemd/system/energyd.service"
chmod 0644 "$dest/etc/systemd/system/energyd.service"
install -m 0644 "$root/deploy/energyd.sysusers" "$dest/usr/lib/sysusers.d/energyd.conf"
install -m 0644 "$root/deploy/energyd.tmpfiles" "$dest/usr/lib/tmpfiles.d/energyd.conf"
install -m 0644 "$root/deploy/energyd.logrotate" "$dest/etc/logrotate.d/energyd"
install -m 0644 "$root/README.md" "$dest$prefix/share/doc/energy-monitor/README.md"
install -m 0644 "$root/deploy/README.md" "$dest$prefix/share/doc/energy-monitor/deploy.md"

# Configuration is the operator's: installed only where none exists, never overwritten.
for file in energyd.toml quotas.toml; do
    [ -e "$dest/etc/energyd/$file" ] || install -m 0644 "$root/Config/$file" "$dest/etc/energyd/$file"
done
if [ -z "$(ls -A "$dest/etc/energyd/enterprises.d")" ]; then
    install -m 0644 "$root"/Config/enterprises.d/*.toml "$dest/etc/energyd/enterprises.d/"
fi
"$dest$prefix/bin/energyd" check-config --config "$dest/etc/energyd/energyd.toml"

if [ -z "$dest" ] && [ -d /run/systemd/system ]; then
    systemd-sysusers energyd.conf
    systemd-tmpfiles --create energyd.conf
    systemctl daemon-reload
    echo "installed; start with: systemctl enable --now energyd.service"
else
    echo "installed into ${dest:-/} (systemd not running here: users and directories are created at boot)"
fi
