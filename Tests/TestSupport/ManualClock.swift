import EnergyModel
import Synchronization

/// A clock that stands still until a test moves it, so simulated values are exact.
public final class ManualClock: WallClock {
    private let now: Mutex<Int64>

    /// A clock reading `startMs`.
    public init(startMs: Int64) { now = Mutex(startMs) }

    public func nowMs() -> Int64 { now.withLock { $0 } }

    public func realSeconds(forClockMs clockMs: Int64) -> Double { Double(clockMs) / 1000 }

    /// Sets the time.
    public func set(_ timeMs: Int64) { now.withLock { $0 = timeMs } }

    /// Moves the time forward.
    public func advance(byMs delta: Int64) { now.withLock { $0 += delta } }
}
