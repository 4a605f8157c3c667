import ConfigurationFiles
import EnergyModel
import Foundation
import Logging
import MeterSimulator

/// An in-process metersim on ephemeral loopback ports, for tests that poll real Modbus TCP.
public final class SimulatorHarness: Sendable {
    /// The simulated plant.
    public let plant: SimulatedPlant
    /// The server.
    public let server: MeterSimulatorServer
    private let reconciler: Task<Void, Never>?

    private init(plant: SimulatedPlant, server: MeterSimulatorServer, reconciling: Bool) {
        self.plant = plant
        self.server = server
        self.reconciler = reconciling ? Task { await server.run() } : nil
    }

    /// Starts serving `scenario` on `clock`, every gateway on a free port. Ports of gateways going down and up
    /// follow the clock every few milliseconds unless `reconciling` is false (whoever steps the clock does it).
    public static func start(_ scenario: Scenario, clock: any WallClock, reconciling: Bool = true) async throws -> SimulatorHarness {
        let plant = SimulatedPlant(scenario: scenario, clock: clock)
        var logger = Logger(label: "metersim-test")
        logger.logLevel = .warning
        let server = MeterSimulatorServer(plant: plant, logger: logger, portOverride: { _ in 0 })
        try await server.start()
        return SimulatorHarness(plant: plant, server: server, reconciling: reconciling)
    }

    /// The scenario's configuration with each gateway's port replaced by the port it was bound to.
    public var configuration: EnergyConfiguration {
        var configuration = plant.scenario.configuration
        for (id, port) in server.ports { configuration.gateways[id]?.port = port }
        return configuration
    }

    /// Closes every port.
    public func stop() async {
        reconciler?.cancel()
        await server.shutdown()
    }
}

/// Small scenarios built in code from the shipped register maps.
public enum TestScenarios {
    /// The shipped configuration's meter models.
    public static func shippedModels() throws -> [String: MeterModel] {
        try ConfigurationLoader.load(path: shippedConfigPath).models
    }

    /// `gateways` gateways with `metersPerGateway` meters each (unit ids 1…), cycling through `models`, one
    /// enterprise per gateway; flat load of `rate` per hour.
    public static func grid(
        gateways: Int, metersPerGateway: Int, models: [String] = ["chint_dtsu666"], intervalSeconds: Int = 1,
        timeoutMs: Int = 300, rate: Double = 3600, originMs: Int64 = 1_767_196_800_000, faults: [FaultSpec] = []
    ) throws -> Scenario {
        let all = try shippedModels()
        var configuration = EnergyConfiguration()
        configuration.models = all.filter { models.contains($0.key) }
        var meters: [String: MeterSimulation] = [:]
        for g in 0..<gateways {
            let gatewayID = "gw\(g)"
            configuration.gateways[gatewayID] = GatewayConfig(id: gatewayID, host: "127.0.0.1", port: 20000 + g, timeoutMs: timeoutMs)
            var enterprise = EnterpriseConfig(id: "E\(g)", name: "企业\(g)", jurisdiction: "陈集镇", industry: "cement", meters: [])
            for m in 0..<metersPerGateway {
                let model = models[m % models.count]
                let energy: EnergyType = model.hasPrefix("production") ? .production : model.hasPrefix("gas") ? .naturalGas : .electricity
                let id = "g\(g)m\(m)"
                enterprise.meters.append(
                    MeterConfig(
                        id: id, gateway: gatewayID, unitID: m + 1, model: model, energy: energy,
                        product: energy == .production ? "clinker" : nil, intervalSeconds: intervalSeconds))
                meters[id] = MeterSimulation(rate: rate, start: 1000, exportRate: 0, profile: "flat")
            }
            configuration.enterprises.append(enterprise)
        }
        return Scenario(
            name: "grid", configuration: configuration, originMs: originMs, seed: 7, profiles: ["flat": .flat], meters: meters,
            faults: faults)
    }
}
