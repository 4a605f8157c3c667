import CSystemShims
import EnergyModel
import Foundation

/// A simulated clock that moves only when its owner moves it, shared with energyd through a small file
/// (`energyd run --clock-file`): a test steps energyd through a month tick by tick, each step once every polling
/// thread has done what was due, so that no reading is skipped or stored late because of how fast the machine is.
///
/// The file holds two 64-bit words, read and written atomically through a shared mapping: the time energyd reads
/// and how many polling threads have caught up with it.
public final class SteppedClock: WallClock, @unchecked Sendable {
    private let words: UnsafeMutablePointer<CLongLong>
    /// The owner's own reading: its simulator moves a step before energyd does, so that a gateway going down at
    /// a tick is down before energyd polls at it.
    private let ownTime: UnsafeMutablePointer<CLongLong>?
    private static let size = 2 * MemoryLayout<CLongLong>.size

    /// Creates the file at `path` reading `startMs`: the owner's clock (a test), which alone moves it.
    public convenience init(creating path: String, startMs: Int64) throws {
        try self.init(path: path, flags: O_RDWR | O_CREAT | O_TRUNC)
        energy_monitor_atomic_store(ownTime!, startMs)
        energy_monitor_atomic_store(words, startMs)
    }

    /// Opens the file another process created: energyd's clock, which it reads and tells when it caught up.
    public convenience init(opening path: String) throws {
        try self.init(path: path, flags: O_RDWR)
    }

    private init(path: String, flags: Int32) throws {
        let descriptor = open(path, flags | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SteppedClockError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        guard ftruncate(descriptor, off_t(Self.size)) == 0,
            let mapping = mmap(nil, Self.size, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0), mapping != MAP_FAILED
        else { throw SteppedClockError(path: path, reason: String(cString: strerror(errno))) }
        words = mapping.assumingMemoryBound(to: CLongLong.self)
        ownTime = flags & O_CREAT != 0 ? .allocate(capacity: 1) : nil
    }

    deinit {
        munmap(words, Self.size)
        ownTime?.deallocate()
    }

    public func nowMs() -> Int64 { energy_monitor_atomic_load(ownTime ?? words) }

    /// Real time does not move this clock: a poller waiting for it looks again a millisecond later.
    public func realSeconds(forClockMs clockMs: Int64) -> Double { clockMs > 0 ? 0.001 : 0 }

    public func caughtUp(atMs nowMs: Int64) { _ = energy_monitor_atomic_add(words + 1, 1) }

    /// Moves the clock to `timeMs`, the owner's reading first, then, after `beforeEnergyd` (the simulator opening or
    /// closing ports), energyd's; `caughtUp(threads:)` then says when energyd has done what was due.
    public func advance(to timeMs: Int64, beforeEnergyd: () async -> Void = {}) async {
        guard let ownTime else { preconditionFailure("only the clock's owner moves it") }
        energy_monitor_atomic_store(ownTime, timeMs)
        await beforeEnergyd()
        energy_monitor_atomic_store(words + 1, 0)
        energy_monitor_atomic_store(words, timeMs)
    }

    /// Waits until `threads` polling threads have caught up with energyd's reading; false after `timeout` or when
    /// the task is cancelled.
    public func caughtUp(threads: Int, timeout: Duration = .seconds(60)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while energy_monitor_atomic_load(words + 1) < threads {
            guard ContinuousClock.now < deadline, !Task.isCancelled else { return false }
            try? await Task.sleep(for: .microseconds(200))
        }
        return true
    }
}

/// The clock file cannot be opened or mapped.
public struct SteppedClockError: Error, CustomStringConvertible {
    /// The file.
    public var path: String
    /// What the system said.
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}
