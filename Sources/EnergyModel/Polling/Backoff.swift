import Foundation

/// Exponential, jittered, capped back-off, counted in failures.
public struct BackoffPolicy: Sendable, Hashable {
    /// Delay after the first failure.
    public var initialMs: Int64
    /// Longest delay.
    public var maxMs: Int64
    /// Each delay is the previous one times this.
    public var multiplier: Double
    /// Fraction of random extra delay (0.2: up to 20 % longer), so that retries do not march in step.
    public var jitter: Double

    /// Creates a policy.
    public init(initialMs: Int64, maxMs: Int64, multiplier: Double = 2, jitter: Double = 0.2) {
        self.initialMs = initialMs
        self.maxMs = max(initialMs, maxMs)
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// The delay after `failures` consecutive failures (1 = first), with `random` in 0..<1 drawing the jitter.
    public func delayMs(failures: Int, random: Double) -> Int64 {
        guard failures > 0 else { return 0 }
        let exponent = Double(min(failures - 1, 62))
        let base = min(Double(maxMs), Double(initialMs) * Foundation.pow(multiplier, exponent))
        return Int64(base * (1 + jitter * random))
    }
}

/// Poll times aligned to wall-clock multiples of an interval (60 s polls at :00 of every minute).
public enum PollSchedule {
    /// The first multiple of `intervalMs` (counted from the epoch), plus `offsetMs`, strictly after `timeMs`.
    public static func nextTick(after timeMs: Int64, intervalMs: Int64, offsetMs: Int64 = 0) -> Int64 {
        ((timeMs - offsetMs).floorDivided(by: intervalMs) + 1) * intervalMs + offsetMs
    }

    /// How long after each aligned tick `meterID` is polled when starts may spread over `maxSpreadMs`: one of the
    /// spread's 50 ms slots, fixed by the meter's id (FNV-1a) so it stays put across restarts and reloads, below its
    /// interval. Slots, not milliseconds: meters sharing a slot share a wake-up of their polling thread, and a
    /// wake-up costs more CPU than a poll (BENCHMARKS.md: 10 ms slots cost 30–50 % more CPU a poll than 50 ms).
    public static func startOffsetMs(meterID: String, intervalMs: Int64, maxSpreadMs: Int64) -> Int64 {
        let slots = min(maxSpreadMs, intervalMs - 1) / spreadSlotMs
        guard slots > 0 else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in meterID.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int64(hash % UInt64(slots + 1)) * spreadSlotMs
    }

    /// The step of start offsets.
    public static let spreadSlotMs: Int64 = 50

    /// The first multiple of `intervalMs` at or after `timeMs`.
    public static func tick(atOrAfter timeMs: Int64, intervalMs: Int64) -> Int64 {
        let floor = timeMs.floorDivided(by: intervalMs) * intervalMs
        return floor == timeMs ? floor : floor + intervalMs
    }
}

extension Int64 {
    /// Division rounding towards minus infinity.
    public func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
