#!/usr/bin/env bash
# The main job, end to end: metersim serves the demo district on an accelerated clock, energyd polls it over
# Modbus TCP with the shipped configuration, then energyctl shows what was stored.
#
#   Simulator/demo.sh [DAYS]     simulated days (default 30: January 2026 in about a minute)
#
# Runs on a fresh Debian 12 machine with the Swift toolchain: installs its packages, builds a release.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
days=${1:-30}
start="2026-01-01T00:00:00+08:00"
speed=43200                              # simulated seconds per real second: one day in 2 s
work="$root/demo-run"

deploy/install-deps.sh
echo "== building (release)"
swift build -c release 2>&1 | tail -n 1
bin=$(swift build -c release --show-bin-path)

rm -rf "$work" && mkdir -p "$work"
# Both processes read the same simulated time: the same start, speed and anchor (real ms when it reads $start).
anchor=$(( $(date +%s%3N) + 300 ))
clock=(--clock-start "$start" --clock-speed "$speed" --clock-anchor "$anchor")

"$bin/metersim" run --scenario Simulator/Scenarios/demo-district.toml "${clock[@]}" >"$work/metersim.out" 2>"$work/metersim.log" &
sim=$!
"$bin/energyd" run --config Config/energyd.toml --database "$work/energy.sqlite" --alert-log "$work/alerts.jsonl" "${clock[@]}" \
    2>"$work/energyd.log" &
daemon=$!
trap 'kill $daemon $sim 2>/dev/null || true' EXIT

run_ms=$(( days * 86400 * 1000 / speed + 300 + 300 ))
echo "== simulating $days days of the demo district ($(( run_ms / 1000 )) s): metersim pid $sim, energyd pid $daemon"
sleep "$(( run_ms / 1000 )).$(( run_ms % 1000 ))"
kill -TERM "$daemon"; wait "$daemon" || { echo "energyd failed; see $work/energyd.log"; exit 1; }
kill -TERM "$sim"; wait "$sim" || true
trap - EXIT

echo "== metersim: $(tail -n 1 "$work/metersim.out")"
echo "== what energyd stored (energyctl summary --database $work/energy.sqlite)"
"$bin/energyctl" summary --database "$work/energy.sqlite"
echo
echo "Files: $work (energy.sqlite, energyd.log, metersim.log)"
