#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need, checks formatting, builds with warnings as errors
# (Package.swift), then runs the fast tier (pure logic, the store, reports, the simulator: seconds) before the tests
# that start servers and processes, so a broken rule fails in a minute rather than after all of them. As root, the
# Debian packages are tested under a real systemd (deploy/test-package.sh) beside those tests: its Debian root is
# made while Swift builds, its packages are built before the tests take SwiftPM's lock, and its checks wait on
# systemd and apt rather than on the cores.
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
fast='^(EnergyModelTests|EnergyStoreTests|EnergyReportsTests|MeterSimulatorTests)\.'
step swift test --skip-build --no-parallel --filter "$fast"
if $as_root; then
    rm -rf "$logs/debs"
    step deploy/test-package.sh --build "$logs/debs"
    wait "$root_job" || { cat "$logs/debian-root.log"; exit 1; }
    deploy/test-package.sh --debs "$logs/debs" >"$logs/test-package.log" 2>&1 &
    package_job=$!
else
    echo "deploy/test-package.sh skipped: it needs root (namespaces, mounts)"
fi
status=0
step swift test --skip-build --no-parallel --skip "$fast" || status=$?
if $as_root; then
    package_status=0
    wait "$package_job" || package_status=$?
    cat "$logs/test-package.log"
    echo "test.sh: deploy/test-package.sh ended with $package_status (total $SECONDS s)"
    [ "$package_status" -eq 0 ] || status=$package_status
fi
exit "$status"
