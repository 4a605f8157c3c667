import EnergyModel
import EnergyStore
import Logging
import ModbusPolling
import ServiceLifecycle

/// Runs one `GatewayPoller` per gateway and applies new configurations, restarting only the pollers whose
/// gateway or meters changed.
public actor PollingService: Service {
    private let clock: any WallClock
    private let sink: any SampleSink
    private let logger: Logger
    private let policy: PollingPolicy
    private var pollers: [String: GatewayPoller] = [:]
    private var stopped = false

    /// Creates the service with nothing to poll; `apply` gives it a configuration.
    public init(clock: any WallClock, sink: any SampleSink, logger: Logger, policy: PollingPolicy = PollingPolicy()) {
        self.clock = clock
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
        var started = 0
        var kept = 0
        var removed = 0
        for (id, poller) in pollers {
            let unchanged =
                wanted[id].map { gateway, meters in
                    gateway == poller.gateway && Set(meters) == Set(poller.meters)
                } ?? false
            if unchanged {
                kept += 1
                wanted[id] = nil
            } else {
                await poller.stop()
                pollers[id] = nil
                removed += 1
            }
        }
        for (id, (gateway, meters)) in wanted where !meters.isEmpty {
            let poller = GatewayPoller(gateway: gateway, meters: meters, clock: clock, sink: sink, logger: logger, policy: policy)
            pollers[id] = poller
            poller.start()
            started += 1
        }
        return (started, kept, removed)
    }

    /// Waits for graceful shutdown, then stops every poller after its read in flight.
    public func run() async throws {
        try? await gracefulShutdown()
        await stopAll()
    }

    private func stopAll() async {
        stopped = true
        for poller in pollers.values { poller.requestStop() }
        for poller in pollers.values { await poller.stop() }
        logger.info("pollers stopped", metadata: ["gateways": "\(pollers.count)"])
        pollers = [:]
    }
}
