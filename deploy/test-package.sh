#!/usr/bin/env bash
# The Debian packages under a real systemd and a real apt, on a Debian 12 root with no Swift toolchain.
#
#   deploy/test-package.sh               (as root; .ci/run runs it through deploy/test.sh)
#   deploy/test-package.sh --root-only   only makes the cached Debian root (deploy/test.sh: while Swift builds)
#   deploy/test-package.sh --build DIR   only builds the two packages into DIR (it takes SwiftPM's lock on .build)
#   deploy/test-package.sh --debs DIR    tests the packages --build put in DIR (deploy/test.sh: beside the Swift tests,
#                                        which hold that lock)
#
# A minimal bookworm root made by mmdebstrap (cached in .build/debian-root) boots systemd as PID 1 of its own PID,
# mount, cgroup, UTS and IPC namespaces; it shares this machine's network, so its loopback is ours. Getty and
# console units are masked: nothing touches this machine's consoles. Inside: apt installs both packages built by
# deploy/build-deb.sh --debug (an older version first), metersim from its package serves the demo district, and
# the service is checked: READY before active, meters polled, a good and a bad reload, journal priorities,
# SIGSTOP ended by the watchdog, kill -9 restarted, a broken configuration at start ending the unit failed with its
# errors logged once, an upgrade keeping configuration, database and accounts, stop with exit 0, remove, purge.
# systemd is ended with SIGKILL (on SIGTERM it would re-execute itself); its namespaces go with it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
    echo "test-package: needs root (namespaces, mounts, apt inside the root)" >&2
    exit 1
fi
cd "$root"
version=$(sed -n 's/.*static let version = "\(.*\)".*/\1/p' Sources/EnergyModel/Product/Version.swift)
mode=${1:-all}
case "$mode" in
all | --root-only) ;;
--build | --debs) [ -n "${2:-}" ] || { echo "test-package: $mode needs a folder" >&2; exit 2; } ;;
*) echo "test-package: unknown option $mode" >&2; exit 2 ;;
esac

# The two packages: the older version first installed, then upgraded to.
build_packages() {
    deploy/build-deb.sh --debug --version "$version~test0" --out "$1" | tail -n 2
    deploy/build-deb.sh --debug --version "$version" --out "$1" | tail -n 2
}

# The Debian 12 root, made once and kept in the build folder. The packages' dependencies come in with it: apt then
# installs them without the network.
cache="$root/.build/debian-root"
tarball="$cache/bookworm-systemd.tar"
make_root() {
    [ -s "$tarball" ] && return
    mkdir -p "$cache"
    mmdebstrap --quiet --variant=minbase --format=tar \
        --include=systemd,systemd-sysv,dbus,logrotate,tzdata,libsqlite3-0,libmodbus5,zlib1g,init-system-helpers,procps \
        bookworm "$tarball.part" http://deb.debian.org/debian
    mv "$tarball.part" "$tarball"
}

case "$mode" in
--root-only)
    make_root
    exit 0
    ;;
--build)
    mkdir -p "$2"
    build_packages "$2"
    exit 0
    ;;
esac

debs=$(mktemp -d)
fs=$(mktemp -d /tmp/energy-package-root.XXXXXX)
pid1=""
failures=0
cleanup() {
    if [ "${KEEP_ROOT:-}" = 1 ] && [ -n "$pid1" ]; then
        echo "KEEP_ROOT=1: systemd runs as $pid1 in $fs (nsenter -t $pid1 -m -p -u -i -C; kill -KILL $pid1 to end it)"
        return
    fi
    [ -n "$pid1" ] && kill -KILL "$pid1" 2>/dev/null || true
    sleep 0.5
    rm -rf "$fs" "$debs"
}
trap cleanup EXIT

pass() { echo "  ok   $*"; }
fail() {
    echo "  FAIL $*"
    failures=$((failures + 1))
}
# Runs a command inside the root, in all of its namespaces.
inside() { nsenter -t "$pid1" -m -p -u -i -C -- "$@"; }
# Waits up to $1 seconds for the command after it to succeed.
await() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.5
    done
}
property() { inside systemctl show -P "$2" "$1"; }
restarts() { property energyd.service NRestarts; }
restarted_since() { [ "$(restarts)" -gt "$1" ]; }
is_active() { inside systemctl is-active -q energyd; }
journal() { inside journalctl -u energyd --no-pager -o cat "$@"; }
journal_has() { journal "${@:2}" | grep -q "$1"; }
as_energyd() { inside runuser -u energyd -- "$@"; }
samples() {
    as_energyd energyctl summary --config /etc/energyd/energyd.toml --format json 2>/dev/null |
        python3 -c 'import json,sys; print(sum(r["samples"] for r in json.load(sys.stdin)))' 2>/dev/null || echo 0
}
# Whether each of the three protocols has brought good readings: E01's gateway speaks Modbus TCP, E05-steam's Modbus
# RTU over TCP, E05-power is a DL/T 645 meter.
protocols_read() {
    as_energyd energyctl summary --config /etc/energyd/energyd.toml --format json 2>/dev/null | python3 -c '
import json, sys
good = {r["meter"] for r in json.load(sys.stdin) if (r["good_percent"] or 0) > 0}
sys.exit(0 if {"E01-kiln-power", "E05-steam", "E05-power"} <= good else 1)' 2>/dev/null
}
booted() { inside systemctl is-system-running 2>/dev/null | grep -qE '^(running|degraded)$'; }

echo "== packages (debug build, an older version for the upgrade)"
if [ "$mode" = --debs ]; then
    cp "$2"/*.deb "$debs/"
else
    build_packages "$debs"
fi

if lintian --profile debian --fail-on error,warning "$debs"/*_"$version"_*.deb >"$debs/lintian.txt" 2>&1; then
    pass "lintian: no error, no warning"
else
    fail "lintian: $(grep -E '^[EW]:' "$debs/lintian.txt")"
fi

echo "== Debian 12 root with systemd"
make_root
tar -C "$fs" -xf "$tarball"
for unit in getty@.service serial-getty@.service console-getty.service getty.target systemd-firstboot.service \
    systemd-logind.service; do
    ln -sf /dev/null "$fs/etc/systemd/system/$unit"
done
echo energy-test >"$fs/etc/hostname"
cp "$debs"/*.deb "$fs/root/"
[ -x "$fs/usr/bin/swift" ] && fail "the root has a Swift toolchain"

unshare --pid --mount --uts --ipc --cgroup --fork --kill-child "$root/deploy/package-test-boot.sh" "$fs" \
    >"$debs/boot.log" 2>&1 &
unshare_pid=$!
await 10 pgrep -P "$unshare_pid" || { echo "systemd did not start"; cat "$debs/boot.log"; exit 1; }
pid1=$(pgrep -P "$unshare_pid")
if await 60 booted; then
    pass "systemd booted ($(inside systemctl is-system-running))"
else
    fail "systemd did not finish booting: $(inside systemctl is-system-running 2>&1 || true)"
fi

echo "== install"
inside sh -c "DEBIAN_FRONTEND=noninteractive apt-get install -y -q /root/energy-monitor-metersim_${version}_*.deb" >/dev/null
inside metersim --version | grep -qx "$version" && pass "metersim $version runs without a Swift toolchain" || fail "metersim --version"
inside systemd-run --unit metersim --quiet /usr/bin/metersim run \
    --scenario /usr/share/energy-monitor-metersim/Simulator/Scenarios/demo-district.toml
inside sh -c "DEBIAN_FRONTEND=noninteractive apt-get install -y -q /root/energy-monitor_${version}~test0_*.deb" >/dev/null
inside energyd --version | grep -qx "$version" && pass "energyd runs without a Swift toolchain" || fail "energyd --version"
if await 30 is_active; then
    pass "installed, enabled ($(inside systemctl is-enabled energyd)) and started"
else
    fail "energyd not active after install: $(inside systemctl status energyd --no-pager 2>&1 | tail -n 20)"
fi
# Type=notify: active only once energyd said READY=1, after its "energyd running" line.
ready_line=$(journal | grep -n "energyd running" | head -n 1 | cut -d: -f1)
[ -n "$ready_line" ] && pass "READY=1 after \"energyd running\", then active" || fail "no \"energyd running\" before active"
[ "$(inside stat -c %U /var/lib/energyd)" = energyd ] && pass "/var/lib/energyd belongs to the energyd user" ||
    fail "/var/lib/energyd owner: $(inside stat -c %U /var/lib/energyd)"

echo "== polling, reload"
# Poll every 5 s instead of every 15 min, applied by a reload: a good reload.
inside sed -i 's/^interval_s = 900/interval_s = 5/' /etc/energyd/energyd.toml /etc/energyd/enterprises.d/E05-textile.toml
inside systemctl reload energyd
await 10 journal_has "configuration reloaded" &&
    pass "good reload applied" || fail "good reload: $(journal | tail -n 5)"
if await 60 protocols_read; then
    pass "meters polled over Modbus TCP, RTU over TCP and DL/T 645: $(samples) samples"
else
    fail "no samples stored: $(journal | tail -n 10)"
fi
inside cp /etc/energyd/energyd.toml /root/energyd.toml.good
inside sh -c 'echo "broken = = 1" >> /etc/energyd/energyd.toml'
inside systemctl reload energyd
await 10 journal_has "energyd.toml:" -p err &&
    pass "bad reload refused: $(inside journalctl -u energyd -p err -o cat | grep -m1 'energyd.toml:')" ||
    fail "bad reload: no FILE:LINE error at priority err"
inside systemctl is-active -q energyd && pass "still active on the previous configuration" || fail "not active after a bad reload"
inside cp /root/energyd.toml.good /etc/energyd/energyd.toml

echo "== journal"
priority_of() { inside journalctl -u energyd -o json --no-pager | python3 -c "
import json, sys
for line in sys.stdin:
    entry = json.loads(line)
    if '$1' in str(entry.get('MESSAGE', '')): print(entry['PRIORITY']); break"; }
[ "$(priority_of 'energyd running')" = 6 ] && pass "info at priority 6" || fail "info priority: $(priority_of 'energyd running')"
[ "$(priority_of 'energyd.toml:')" = 3 ] && pass "errors at priority 3" || fail "error priority: $(priority_of 'energyd.toml:')"
stamped=$(journal | grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' || true)
[ "$stamped" = 0 ] && pass "one timestamp a line (the journal's)" || fail "$stamped lines carry their own timestamp"
# libdispatch renices its worker threads after their quality of service: the unit lets it (setpriority through
# the system-call filter, LimitNICE=-20). Where this machine's systemd cannot raise RLIMIT_NICE (no
# CAP_SYS_RESOURCE in a container) the kernel still refuses with EACCES; the filter's EPERM must be gone anyway.
nice_limit=$(inside sh -c 'grep "Max nice" /proc/$(systemctl show -P MainPID energyd)/limits' | awk '{print $4}')
if [ "$nice_limit" = 40 ]; then
    noise=$(journal | grep -c "Failed to set thread priority" || true)
else
    noise=$(journal | grep -c "Failed to set thread priority.*errno=1$" || true)
fi
[ "$noise" = 0 ] && pass "no libdispatch thread-priority noise (RLIMIT_NICE granted: $nice_limit of 40)" ||
    fail "$noise libdispatch thread-priority lines: $(journal | grep -m2 "thread priority")"

echo "== watchdog, kill -9"
before=$(restarts)
inside systemctl kill -s SIGSTOP energyd
if await 75 restarted_since "$before"; then
    pass "stopped process restarted by the watchdog"
else
    fail "watchdog did not restart a stopped energyd"
fi
await 30 is_active
before=$(restarts)
inside systemctl kill -s SIGKILL energyd
await 30 restarted_since "$before" && await 30 is_active &&
    pass "kill -9 restarted" || fail "kill -9 not restarted"

echo "== broken configuration at start"
inside sh -c 'echo "broken = = 1" >> /etc/energyd/energyd.toml'
started=$(date +%s)
inside systemctl restart energyd 2>/dev/null || true
if await 30 inside systemctl is-failed -q energyd; then
    pass "unit failed with status $(property energyd.service ExecMainStatus)"
else
    fail "broken configuration: unit $(inside systemctl is-active energyd 2>&1 || true)"
fi
sleep 6 # a restart would come after RestartSec=5s
logged=$(journal -p err --since "@$started" | grep -cE 'energyd.toml:[0-9]+:' || true)
[ "$logged" = 1 ] && pass "its error logged once" || fail "its error logged $logged times"
inside cp /root/energyd.toml.good /etc/energyd/energyd.toml
inside systemctl reset-failed energyd
inside systemctl start energyd

echo "== upgrade"
inside sh -c 'printf "%s\n" "correct horse battery staple" |
    runuser -u energyd -- energyctl user add --config /etc/energyd/energyd.toml --role inspector --password-stdin inspector1' >/dev/null
stored=$(samples)
invocation=$(property energyd.service InvocationID)
inside sh -c "DEBIAN_FRONTEND=noninteractive apt-get install -y -q /root/energy-monitor_${version}_*.deb" >/dev/null
[ "$(inside dpkg-query -W -f '${Version}' energy-monitor)" = "$version" ] && pass "upgraded to $version" || fail "not upgraded"
await 30 is_active && [ "$(property energyd.service InvocationID)" != "$invocation" ] && pass "service restarted" || fail "service not restarted"
upgraded=$(samples)
inside grep -q '^interval_s = 5' /etc/energyd/energyd.toml && pass "configuration kept" || fail "configuration replaced"
[ "$(samples)" -ge "$stored" ] && pass "database kept ($(samples) samples)" || fail "database lost samples"
as_energyd energyctl user list --config /etc/energyd/energyd.toml | grep -q inspector1 && pass "accounts kept" || fail "account lost"

echo "== stop, remove, purge"
more_than() { [ "$(samples)" -gt "$1" ]; }
await 30 more_than "$upgraded" && pass "the new version polls" || fail "no samples from the new version"
running=$(samples)
inside systemctl stop energyd
[ "$(property energyd.service ExecMainStatus)" = 0 ] && pass "stopped with exit 0" || fail "exit $(property energyd.service ExecMainStatus)"
written=$(journal | grep "energyd stopped" | tail -n 1 | sed -n 's/.*samples_written=\([0-9]*\).*/\1/p')
if [ "${written:-0}" -gt 0 ] && [ "$(samples)" -ge "$running" ]; then
    pass "its $written samples committed ($(samples) stored, $running while it ran)"
else
    fail "stop: ${written:-no} samples written, $(samples) stored, $running while it ran"
fi
inside sh -c "DEBIAN_FRONTEND=noninteractive apt-get remove -y -q energy-monitor" >/dev/null
if ! inside test -e /usr/bin/energyd && inside test -e /etc/energyd/energyd.toml && inside test -e /var/lib/energyd/energy.sqlite; then
    pass "remove kept configuration and data"
else
    fail "remove: binaries, configuration or data wrong"
fi
inside sh -c "DEBIAN_FRONTEND=noninteractive apt-get purge -y -q energy-monitor" >/dev/null
if ! inside test -e /etc/energyd && ! inside test -e /var/lib/energyd; then
    pass "purge removed configuration and data"
else
    fail "purge left configuration or data"
fi

if [ "$failures" -gt 0 ]; then
    echo "test-package: $failures checks failed"
    exit 1
fi
echo "test-package: all checks passed"
