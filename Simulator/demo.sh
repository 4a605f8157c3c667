#!/usr/bin/env bash
# The main job, end to end: metersim serves the demo district on an accelerated clock, energyd polls it over
# Modbus TCP with the shipped configuration for a simulated month, then energyctl shows the district report,
# an enterprise's report and the alerts raised.
#
#   Simulator/demo.sh [DAYS]     simulated days (default 31: January 2026 in about 65 s)
#
# Runs on a fresh Debian 12 machine with the Swift toolchain: installs its packages, builds a release.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
days=${1:-31}
start="2026-01-01T00:00:00+08:00"
speed=43200                              # simulated seconds per real second: one day in 2 s
work="$root/demo-run"

deploy/install-deps.sh
echo "== building (release)"
swift build -c release 2>&1 | tail -n 1
bin=$(swift build -c release --show-bin-path)

rm -rf "$work" && mkdir -p "$work"
# The shipped configuration, with the demo's files, and writes and checks frequent enough for a clock running
# 43 200 times real time (a second of real time is half a simulated day).
sed -e "s#^database = .*#database = \"$work/energy.sqlite\"#" \
    -e "s#^alert_log = .*#alert_log = \"$work/alerts.jsonl\"#" \
    -e "s#^enterprise_dir = .*#enterprise_dir = \"$root/Config/enterprises.d\"#" \
    -e "s#^quota_library = .*#quota_library = \"$root/Config/quotas.toml\"#" \
    -e "s#^write_flush_interval_ms = .*#write_flush_interval_ms = 50#" \
    -e "s#^accounting_interval_ms = .*#accounting_interval_ms = 100#" \
    Config/energyd.toml >"$work/energyd.toml"
"$bin/energyd" check-config --config "$work/energyd.toml"
# Both processes read the same simulated time: the same start, speed and anchor (real ms when it reads $start).
anchor=$(( $(date +%s%3N) + 300 ))
clock=(--clock-start "$start" --clock-speed "$speed" --clock-anchor "$anchor")

"$bin/metersim" run --scenario Simulator/Scenarios/demo-district.toml "${clock[@]}" >"$work/metersim.out" 2>"$work/metersim.log" &
sim=$!
"$bin/energyd" run --config "$work/energyd.toml" "${clock[@]}" 2>"$work/energyd.log" &
daemon=$!
trap 'kill $daemon $sim 2>/dev/null || true' EXIT

# Run past the last day's end by two simulated hours, so that the month closes and is checked.
run_ms=$(( (days * 86400 + 7200) * 1000 / speed + 300 + 300 ))
echo "== simulating $days days of the demo district ($(( run_ms / 1000 )) s): metersim pid $sim, energyd pid $daemon"
sleep "$(( run_ms / 1000 )).$(( run_ms % 1000 ))"
kill -TERM "$daemon"; wait "$daemon" || { echo "energyd failed; see $work/energyd.log"; exit 1; }
kill -TERM "$sim"; wait "$sim" || true
trap - EXIT

echo "== metersim: $(tail -n 1 "$work/metersim.out")"
ctl=("$bin/energyctl")
month=$(date -d "${start%+*} + $((days - 1)) days" +%Y-%m 2>/dev/null || echo 2026-01)
echo
"${ctl[@]}" report district --config "$work/energyd.toml" --period "$month"
echo
"${ctl[@]}" report enterprise E02 --config "$work/energyd.toml" --period "$month"
echo
echo "== alerts raised (energyctl alerts; the log is $work/alerts.jsonl)"
"${ctl[@]}" alerts --config "$work/energyd.toml"
echo
echo "Files: $work (energy.sqlite, alerts.jsonl, energyd.log, metersim.log). More: energyctl consumption --config $work/energyd.toml --enterprise E01 --from 2026-01-01 --to 2026-02-01"
