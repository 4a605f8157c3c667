#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need, checks formatting, builds with warnings as errors
# (Package.swift), then runs the fast tier (pure logic, the store, reports, the simulator: seconds) before the tests
# that start servers and processes, so a broken rule fails in a minute rather than after all of them; those run in
# two shards side by side. As root, the Debian packages are tested under a real systemd (deploy/test-package.sh)
# beside the tests: its Debian root is made while Swift builds, its packages are built beside the fast tier, and its
# checks wait on systemd and apt rather than on the cores.
set -euo pipefail
cd "$(dirname "$0")/.."
# Runs a step and says how long it took, so that a slow step shows in CI's log.
step() {
    local started=$SECONDS status=0
    "$@" || status=$?
    echo "test.sh: $* took $((SECONDS - started)) s (total $SECONDS s)"
    return "$status"
}
as_root=false
[ "$(id -u)" -eq 0 ] && as_root=true
logs=.build/test-logs
step deploy/install-deps.sh --test
mkdir -p "$logs"
if $as_root; then
    deploy/test-package.sh --root-only >"$logs/debian-root.log" 2>&1 &
    root_job=$!
fi
step swift format lint --strict --recursive Package.swift Sources Simulator Tests
step swift build --build-tests
# The test binary run directly, not through `swift test`: that holds SwiftPM's lock on .build for its whole run,
# and the package build and the two slow shards below run beside the tests. It runs from a copy, beside copies of
# the programs the tests start: the package build relinks those in .build/debug while the fast tier runs.
built=$(swift build --show-bin-path)
rm -rf "$logs/bin"
mkdir -p "$logs/bin"
cp "$built/energy-monitorPackageTests.xctest" "$built/energyd" "$built/energyctl" "$built/metersim" "$logs/bin/"
tests="$logs/bin/energy-monitorPackageTests.xctest"
run_tests() { "$tests" --testing-library swift-testing --no-parallel "$@"; }
if $as_root; then
    rm -rf "$logs/debs"
    deploy/test-package.sh --build "$logs/debs" >"$logs/build-debs.log" 2>&1 &
    debs_job=$!
fi
fast='^(EnergyModelTests|EnergyStoreTests|EnergyReportsTests|MeterSimulatorTests)\.'
step run_tests --filter "$fast"
if $as_root; then
    wait "$debs_job" || { cat "$logs/build-debs.log"; exit 1; }
    wait "$root_job" || { cat "$logs/debian-root.log"; exit 1; }
    deploy/test-package.sh --debs "$logs/debs" >"$logs/test-package.log" 2>&1 &
    package_job=$!
else
    echo "deploy/test-package.sh skipped: it needs root (namespaces, mounts)"
fi
# The slow tier in two shards side by side, each one test at a time: the longest process tests in one, everything
# else (new suites included) in the other. Each test is built to pass with the other shard competing for the cores.
long='^EnergyDaemonTests\.(UpstreamProcessTests|AccountingEndToEndTests|DaemonProcessTests|DeliveryProcessTests|ConsoleBrowserTests|ServiceTests)/'
run_tests --filter "$long" >"$logs/slow-long.log" 2>&1 &
long_job=$!
status=0
step run_tests --skip "$fast" --skip "$long" || status=$?
long_status=0
wait "$long_job" || long_status=$?
cat "$logs/slow-long.log"
# A filter that matched nothing would pass with no test run.
grep -q 'Test run with [1-9]' "$logs/slow-long.log" || { echo "test.sh: the long shard ran no test"; long_status=1; }
echo "test.sh: the long process tests ended with $long_status (total $SECONDS s)"
[ "$long_status" -eq 0 ] || status=$long_status
if $as_root; then
    package_status=0
    wait "$package_job" || package_status=$?
    cat "$logs/test-package.log"
    echo "test.sh: deploy/test-package.sh ended with $package_status (total $SECONDS s)"
    [ "$package_status" -eq 0 ] || status=$package_status
fi
exit "$status"
