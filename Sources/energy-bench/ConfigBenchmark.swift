import ConfigurationFiles
import EnergyModel
import Foundation

/// What loading a large configuration measured.
struct ConfigResult: Codable {
    var meters: Int
    var bytes: Int
    var loadSeconds: Double
    var baselineParseSeconds: Double
}

/// Loading and validating a district's configuration (energyd's start and every SIGHUP), against Python's tomllib
/// only parsing the same file.
struct ConfigBenchmark {
    let work: String

    func run(_ scenario: PollingScenario) throws -> ConfigResult {
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let polling = PollingBenchmark(binDirectory: "", work: work, seconds: 0, startSpreadMs: 0)
        let configuration = try polling.configuration(scenario, basePort: simulatorBasePort, database: work + "/energy.sqlite", http: 0)
        let path = work + "/config-bench.toml"
        let text = ConfigurationWriter.toml(configuration)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let load = try median(
            (0..<3).map { _ in
                let start = Date()
                let loaded = try ConfigurationLoader.load(path: path)
                guard loaded.meters.count == scenario.meters else { throw BenchError("the configuration lost meters") }
                return Date().timeIntervalSince(start)
            })
        let script =
            "import sys, time, tomllib\nt = time.perf_counter()\ntomllib.load(open(sys.argv[1], 'rb'))\nprint(time.perf_counter() - t)"
        let python = try median(
            (0..<3).map { _ in
                let output = work + "/tomllib.out"
                let child = try Child("/usr/bin/python3", ["-c", script, path], log: output)
                child.process.waitUntilExit()
                guard
                    let seconds = Double(
                        (try String(contentsOfFile: output, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines))
                else { throw BenchError("python3 tomllib failed; see \(output)") }
                return seconds
            })
        return ConfigResult(meters: scenario.meters, bytes: text.utf8.count, loadSeconds: load, baselineParseSeconds: python)
    }

    private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
}
