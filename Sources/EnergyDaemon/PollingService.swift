import EnergyModel
import EnergyStore
import Logging
import ModbusPolling
import ServiceLifecycle

/// Runs one `GatewayPoller` per gateway and applies new configurations, restarting only the pollers whose
/// gateway or meters changed.
public actor PollingService: Service {
    private let clock: any WallClock
    private let realTime: any WallClock
    private let sink: any SampleSink
    private let logger: Logger
    private let policy: PollingPolicy
    private var pollers: [String: GatewayPoller] = [:]
    private var stopped = false
    /// Counts `apply` calls: one that finds a newer one started while it awaited leaves the starting to that one.
    private var generation = 0

    /// Creates the service with nothing to poll; `apply` gives it a configuration.
    public init(
        clock: any WallClock, realTime: any WallClock = SystemWallClock(), sink: any SampleSink, logger: Logger,
        policy: PollingPolicy = PollingPolicy()
    ) {
        self.clock = clock
        self.realTime = realTime
        self.sink = sink
        self.logger = logger
        self.policy = policy
    }

    /// The running pollers, by gateway id.
    public var running: [GatewayPoller] { pollers.values.sorted { $0.gateway.id < $1.gateway.id } }

    /// Polls `configuration` from now on. `seriesIDs` maps meter and point names to stored series.
    /// Returns how many pollers were started, kept and stopped.
    @discardableResult
    public func apply(_ configuration: EnergyConfiguration, seriesIDs: [String: [String: Int64]]) async -> (
        started: Int, kept: Int, stopped: Int
    ) {
        guard !stopped else { return (0, 0, 0) }
        var wanted: [String: (GatewayConfig, [PolledMeter])] = [:]
        for gateway in configuration.gateways.values { wanted[gateway.id] = (gateway, []) }
        for (_, meter) in configuration.meters {
            guard let model = configuration.models[meter.model], let gateway = configuration.gateways[meter.gateway],
                let ids = seriesIDs[meter.id]
            else { continue }
            let polled = PolledMeter(meter: meter, model: model, seriesIDs: model.points.map { ids[$0.name] ?? 0 }, gateway: gateway)
            wanted[gateway.id]?.1.append(polled)
        }
        generation += 1
        let mine = generation
        // The actor is re-entered while a poller stops (a shutdown, another reload): decide and take the stale
        // pollers out first, await their stops, then start new ones only if nothing newer happened meanwhile.
        var kept = 0
        var stale: [GatewayPoller] = []
        for (id, poller) in pollers {
            let unchanged =
                wanted[id].map { gateway, meters in
                    gateway == poller.gateway && Set(meters) == Set(poller.meters)
                } ?? false
            if unchanged {
                kept += 1
                wanted[id] = nil
            } else {
                stale.append(poller)
                pollers[id] = nil
            }
        }
        for poller in stale { await poller.stop() }
        guard !stopped, generation == mine else { return (0, kept, stale.count) }
        var started = 0
        for (id, (gateway, meters)) in wanted where !meters.isEmpty {
            let poller = GatewayPoller(
                gateway: gateway, meters: meters, clock: clock, realTime: realTime, sink: sink, logger: logger, policy: policy)
            pollers[id] = poller
            poller.start()
            started += 1
        }
        return (started, kept, stale.count)
    }

    /// Waits for graceful shutdown, then stops every poller after its read in flight.
    public func run() async throws {
        try? await gracefulShutdown()
        await stopAll()
    }

    func stopAll() async {
        stopped = true
        let all = Array(pollers.values)
        pollers = [:]
        for poller in all { poller.requestStop() }
        for poller in all { await poller.stop() }
        logger.info("pollers stopped", metadata: ["gateways": "\(all.count)"])
    }
}
