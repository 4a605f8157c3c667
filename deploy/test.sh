#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need, checks formatting, builds with warnings as errors
# (Package.swift), then runs the fast tier (pure logic, the store, reports, the simulator: seconds) before the tests
# that start servers and processes, so a broken rule fails in a minute rather than after all of them; last, as root,
# the Debian packages under a real systemd (deploy/test-package.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# Runs a step and says how long it took, so that a slow step shows in CI's log.
step() {
    local started=$SECONDS
    "$@"
    echo "test.sh: $* took $((SECONDS - started)) s (total $SECONDS s)"
}
step deploy/install-deps.sh --test
step swift format lint --strict --recursive Package.swift Sources Simulator Tests
step swift build --build-tests
fast='^(EnergyModelTests|EnergyStoreTests|EnergyReportsTests|MeterSimulatorTests)\.'
step swift test --skip-build --no-parallel --filter "$fast"
step swift test --skip-build --no-parallel --skip "$fast"
if [ "$(id -u)" -eq 0 ]; then
    step deploy/test-package.sh
else
    echo "deploy/test-package.sh skipped: it needs root (namespaces, mounts)"
fi
