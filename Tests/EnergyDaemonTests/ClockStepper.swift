import EnergyModel
import Foundation
import MeterSimulator
import ModbusPolling
import Synchronization
import TestSupport

/// Moves a stepped clock that energyd and the in-process metersim share, one poll tick at a time, each step once
/// every polling thread of energyd has done what was due: a simulated month never depends on how fast the machine
/// is, only on how long it takes.
final class ClockStepper: Sendable {
    let clock: SteppedClock
    let path: String
    private let simulator: Mutex<SimulatorHarness?> = Mutex(nil)
    /// energyd's polling threads (gateways with meters) and the step (the greatest common divisor of the intervals).
    private let plan = Mutex((threads: 0, stepMs: Int64(1000)))
    private let background = Mutex<Task<Void, Never>?>(nil)

    init(path: String, startMs: Int64) throws {
        clock = try SteppedClock(creating: path, startMs: startMs)
        self.path = path
    }

    /// The simulator whose ports open and close at a step before energyd sees it.
    func serve(_ simulator: SimulatorHarness) { self.simulator.withLock { $0 = simulator } }

    /// Takes the threads and the step from the configuration energyd runs.
    func follow(_ configuration: EnergyConfiguration) {
        let polled = Set(configuration.meters.map(\.meter.gateway)).filter { configuration.gateways[$0] != nil }
        let stepMs = configuration.meters.map { Int64($0.meter.intervalSeconds) * 1000 }.reduce(0, greatestCommonDivisor)
        plan.withLock { $0 = (polled.count, max(stepMs, 1000)) }
    }

    /// Steps up to `endMs` as fast as energyd keeps up; false when a step waited `patience` in vain.
    func run(to endMs: Int64, patience: Duration = .seconds(60)) async -> Bool {
        await step(to: endMs, speed: nil, patience: patience)
    }

    /// Steps in the background, at most `speed` times real time, until `stop` (waiting for as long as energyd is
    /// not running: a test may kill and restart it).
    func start(speed: Double) {
        let task = Task { _ = await self.step(to: .max, speed: speed, patience: .seconds(86_400)) }
        background.withLock { $0 = task }
    }

    func stop() { background.withLock { $0?.cancel() } }

    private func step(to endMs: Int64, speed: Double?, patience: Duration) async -> Bool {
        let realStart = ContinuousClock.now
        let clockStart = clock.nowMs()
        while !Task.isCancelled {
            let (threads, stepMs) = plan.withLock { $0 }
            guard await clock.caughtUp(threads: threads, timeout: patience) else { return false }
            let now = clock.nowMs()
            guard now < endMs else { return true }
            let next = min(endMs, (now / stepMs + 1) * stepMs)
            if let speed { try? await Task.sleep(until: realStart + .milliseconds(Double(next - clockStart) / speed)) }
            let simulator = self.simulator.withLock { $0 }
            await clock.advance(to: next) { await simulator?.server.reconcileListeners() }
        }
        return false
    }
}

private func greatestCommonDivisor(_ a: Int64, _ b: Int64) -> Int64 { b == 0 ? a : greatestCommonDivisor(b, a % b) }
