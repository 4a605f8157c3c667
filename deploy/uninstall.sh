#!/usr/bin/env bash
# Removes what deploy/install.sh installed. Configuration (/etc/energyd), data (/var/lib/energyd) and logs
# (/var/log/energyd) stay unless --purge is given. Honours DESTDIR and PREFIX like install.sh. Idempotent.
set -euo pipefail
prefix=${PREFIX:-/usr/local}
dest=${DESTDIR:-}
purge=no
[ "${1:-}" = "--purge" ] && purge=yes

if [ -z "$dest" ] && [ -d /run/systemd/system ]; then
    systemctl disable --now energyd.service 2>/dev/null || true
fi
rm -f "$dest$prefix/bin/energyd" "$dest$prefix/bin/energyctl" "$dest/etc/systemd/system/energyd.service" \
    "$dest/usr/lib/sysusers.d/energyd.conf" "$dest/usr/lib/tmpfiles.d/energyd.conf" "$dest/etc/logrotate.d/energyd"
rm -rf "$dest$prefix/share/doc/energy-monitor"
if [ "$purge" = yes ]; then
    rm -rf "$dest/etc/energyd" "$dest/var/lib/energyd" "$dest/var/log/energyd"
fi
if [ -z "$dest" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi
echo "removed from ${dest:-/}$([ "$purge" = yes ] && echo ", with configuration, data and logs")"
