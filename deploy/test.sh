#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need, checks formatting, builds with warnings as errors
# (Package.swift), then runs the fast tier (pure logic, the store, reports, the simulator: seconds) before the tests
# that start servers and processes, so a broken rule fails in a minute rather than after all of them; last, as root,
# the Debian packages under a real systemd (deploy/test-package.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh --test
swift format lint --strict --recursive Package.swift Sources Simulator Tests
swift build --build-tests
fast='^(EnergyModelTests|EnergyStoreTests|EnergyReportsTests|MeterSimulatorTests)\.'
swift test --skip-build --no-parallel --filter "$fast"
swift test --skip-build --no-parallel --skip "$fast"
if [ "$(id -u)" -eq 0 ]; then
    deploy/test-package.sh
else
    echo "deploy/test-package.sh skipped: it needs root (namespaces, mounts)"
fi
