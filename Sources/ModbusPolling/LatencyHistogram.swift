/// Durations counted in the buckets `/metrics` exports (0.5 ms … 10 s, then everything above): exact for
/// Prometheus, cheap to record on every poll, and small, since every gateway keeps two (a few thousand gateways
/// must not cost megabytes of histograms).
public struct LatencyHistogram: Sendable, Hashable {
    /// Upper bounds of the buckets, seconds (Prometheus `le`); the last bucket holds what lies above them.
    public static let boundsSeconds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Count per bucket: `counts[i]` holds durations in (bounds[i-1], bounds[i]], the last those above 10 s.
    public private(set) var counts = [UInt64](repeating: 0, count: boundsSeconds.count + 1)
    /// Number of recorded durations.
    public private(set) var total: UInt64 = 0
    /// Sum of recorded durations, seconds.
    public private(set) var sumSeconds: Double = 0

    /// An empty histogram.
    public init() {}

    /// Records one duration.
    public mutating func record(seconds: Double) {
        let seconds = max(seconds, 0)
        counts[Self.boundsSeconds.firstIndex { seconds <= $0 } ?? Self.boundsSeconds.count] += 1
        total += 1
        sumSeconds += seconds
    }

    /// Adds another histogram's counts.
    public mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        total += other.total
        sumSeconds += other.sumSeconds
    }

    /// Upper bound, seconds, of the bucket holding the `quantile` (0…1) of recorded durations (infinity above the
    /// last bound); 0 when empty.
    public func quantile(_ quantile: Double) -> Double {
        guard total > 0 else { return 0 }
        let rank = max(UInt64((Double(total) * quantile).rounded(.up)), 1)
        var seen: UInt64 = 0
        for (index, count) in counts.enumerated() {
            seen += count
            if seen >= rank { return index < Self.boundsSeconds.count ? Self.boundsSeconds[index] : .infinity }
        }
        return .infinity
    }

    /// Number of recorded durations at or below `seconds`, one of `boundsSeconds` (Prometheus's cumulative `le`).
    public func count(atMost seconds: Double) -> UInt64 {
        var sum: UInt64 = 0
        for (index, bound) in Self.boundsSeconds.enumerated() where bound <= seconds { sum += counts[index] }
        return sum
    }
}
