import ConfigurationFiles
import EnergyModel
import EnergyStore
import Foundation
import Logging
import NIOHTTP1
import ServiceLifecycle
import UnixSignals
import WebConsole

/// The web console and API alone over an existing database: nothing polled, accounted or delivered. For a look at
/// what a stopped energyd left (the demo after its month, an archived district's file).
public enum ConsoleOnly {
    /// Serves until SIGTERM or SIGINT on `listen` (HOST:PORT), or the configuration's `http_listen`.
    public static func run(configPath: String, databasePath: String?, listen: String?, logger: Logger) async throws {
        var configuration = try ConfigurationLoader.load(path: configPath)
        if let databasePath { configuration.daemon.databasePath = databasePath }
        if let listen { configuration.daemon.httpListen = listen }
        guard let endpoint = configuration.daemon.httpEndpoint else {
            throw ConfigErrors([
                ConfigError(file: configPath, line: 0, key: "http_listen", message: "nothing to listen on: give --listen HOST:PORT")
            ])
        }
        let store = try await EnergyStore.open(path: configuration.daemon.databasePath)
        let console = WebConsole(store: store, configuration: { [configuration] in configuration }, logger: logger)
        let http = try await HTTPService(
            host: endpoint.host, port: endpoint.port, tls: configuration.daemon.httpTLS, logger: logger
        ) { request in
            if let answer = await console.answer(request) { return answer }
            return HTTPAnswer(status: .notFound, contentType: "text/plain", body: "energyd console serves / and /api/v1/ only\n")
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: http, serviceName: "http")], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
