/// What is known about one stored reading. Travels with every sample into rollups and alerts.
///
/// Stored as the raw integer; new codes may be added, existing ones never renumbered.
public enum SampleQuality: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The meter answered and the value is plausible.
    case good = 0
    /// No answer: timeout, connection refused or reset, or not attempted because the meter or gateway backs off.
    case commFail = 1
    /// The meter answered with a Modbus exception (illegal address, device failure, gateway target failed …).
    case exception = 2
    /// The meter answered but the value is not a finite number or lies outside the point's valid range.
    case outOfRange = 3

    /// Machine name used in logs, JSON and CSV.
    public var description: String {
        switch self {
        case .good: "good"
        case .commFail: "comm-fail"
        case .exception: "exception"
        case .outOfRange: "out-of-range"
        }
    }
}

/// One reading of one point at one instant, ready to be stored.
public struct Sample: Sendable, Hashable {
    /// The stored series (enterprise, meter, point) the sample belongs to.
    public var seriesID: Int64
    /// When the value was read, UTC epoch milliseconds.
    public var timestampMs: Int64
    /// The decoded, scaled value; nil when the read failed.
    public var value: Double?
    /// What is known about the value.
    public var quality: SampleQuality

    /// Creates a sample.
    public init(seriesID: Int64, timestampMs: Int64, value: Double?, quality: SampleQuality) {
        self.seriesID = seriesID
        self.timestampMs = timestampMs
        self.value = value
        self.quality = quality
    }
}

/// Where pollers hand their samples; implemented by the store's batched writer. Must not block for long.
public protocol SampleSink: Sendable {
    /// Queues samples for storage.
    func submit(_ samples: [Sample])
}
