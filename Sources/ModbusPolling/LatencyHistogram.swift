import Foundation

/// Durations counted in logarithmic buckets (8 per doubling, ≤ 9 % wide) from 1 µs to about 70 min: cheap to
/// record on every poll, fine enough for p50/p99, coarse enough to merge across gateways.
public struct LatencyHistogram: Sendable, Hashable {
    static let bucketsPerDoubling = 8.0
    static let bucketCount = 256
    /// Count per bucket; bucket i holds durations below 2^((i+1)/8) µs.
    public private(set) var counts = [UInt64](repeating: 0, count: bucketCount)
    /// Number of recorded durations.
    public private(set) var total: UInt64 = 0
    /// Sum of recorded durations, seconds.
    public private(set) var sumSeconds: Double = 0

    /// An empty histogram.
    public init() {}

    /// Records one duration.
    public mutating func record(seconds: Double) {
        let micros = max(seconds, 0) * 1e6
        let index = micros < 1 ? 0 : min(Self.bucketCount - 1, Int(log2(micros) * Self.bucketsPerDoubling))
        counts[index] += 1
        total += 1
        sumSeconds += max(seconds, 0)
    }

    /// Adds another histogram's counts.
    public mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        total += other.total
        sumSeconds += other.sumSeconds
    }

    /// Upper bound, seconds, of the bucket holding the `quantile` (0…1) of recorded durations; 0 when empty.
    public func quantile(_ quantile: Double) -> Double {
        guard total > 0 else { return 0 }
        let rank = UInt64((Double(total) * quantile).rounded(.up))
        var seen: UInt64 = 0
        for (index, count) in counts.enumerated() {
            seen += count
            if seen >= max(rank, 1) { return Self.upperBoundSeconds(index) }
        }
        return Self.upperBoundSeconds(Self.bucketCount - 1)
    }

    /// Number of recorded durations at or below `seconds` (bucket-accurate), for Prometheus `le` buckets.
    public func count(atMost seconds: Double) -> UInt64 {
        var sum: UInt64 = 0
        for (index, count) in counts.enumerated() where Self.upperBoundSeconds(index) <= seconds * 1.000001 {
            sum += count
        }
        return sum
    }

    static func upperBoundSeconds(_ index: Int) -> Double {
        exp2(Double(index + 1) / bucketsPerDoubling) / 1e6
    }
}
