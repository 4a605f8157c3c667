import Synchronization

/// Counters one gateway's poller updates and the metrics endpoint reads.
public struct GatewayCounters: Sendable, Hashable {
    /// Modbus requests sent.
    public var requests: UInt64 = 0
    /// Requests that got no valid answer (timeouts, exceptions, broken connections).
    public var requestFailures: UInt64 = 0
    /// Meter polls (all of a meter's requests at one tick).
    public var polls: UInt64 = 0
    /// Polls in which some request failed, or the meter could not be reached.
    public var pollFailures: UInt64 = 0
    /// Ticks that passed without a poll (the thread was busy with timeouts), each recorded as comm-fail.
    public var missedTicks: UInt64 = 0
    /// Samples handed to the writer.
    public var samples: UInt64 = 0
    /// Connections opened.
    public var connects: UInt64 = 0
    /// Connection attempts that failed.
    public var connectFailures: UInt64 = 0
    /// Meters whose last poll succeeded.
    public var metersOnline = 0
    /// Meters configured on the gateway.
    public var metersConfigured = 0
    /// Whether the connection is open.
    public var connected = false
    /// Request round-trip times.
    public var roundTrip = LatencyHistogram()
    /// How late each poll started after its aligned tick (real time).
    public var lag = LatencyHistogram()
    /// When the polling thread last showed it was alive (it wakes at least every second), real UTC epoch ms.
    public var lastProgressRealMs: Int64 = 0
}

/// A gateway's counters behind a lock: written by its poller thread, read by metrics and health.
public final class PollerStatistics: Sendable {
    /// The gateway's id.
    public let gatewayID: String
    private let counters = Mutex(GatewayCounters())

    /// Creates zeroed statistics.
    public init(gatewayID: String) { self.gatewayID = gatewayID }

    /// A copy of the counters.
    public var snapshot: GatewayCounters { counters.withLock { $0 } }

    /// Updates the counters.
    public func update(_ body: (inout GatewayCounters) -> Void) { counters.withLock { body(&$0) } }
}
