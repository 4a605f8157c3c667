import Foundation

/// The package's root directory.
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The configuration shipped in Config/.
public let shippedConfigPath = packageRoot + "/Config/energyd.toml"

/// The demo district scenario.
public let demoScenarioPath = packageRoot + "/Simulator/Scenarios/demo-district.toml"

/// The scenario with every fault.
public let faultScenarioPath = packageRoot + "/Simulator/Scenarios/faults.toml"

/// The Python of the tests' virtual environment (deploy/install-deps.sh --test), with the independent peers' packages.
public let testPython = packageRoot + "/.build/test-venv/bin/python"

/// An independent protocol peer's script in Tests/Peers.
public func peerScript(_ name: String) -> String { packageRoot + "/Tests/Peers/" + name }

/// Path of a built executable of this package (energyd, energyctl, metersim), next to the test bundle.
public func builtProduct(_ name: String) -> String {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path,
        packageRoot + "/.build/debug/" + name,
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[1]
}

/// A fresh directory under the system's temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    /// Its path.
    public let path: String

    /// Creates the directory.
    public init(_ label: String = "energy-monitor") throws {
        path = NSTemporaryDirectory() + "/\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A path inside it.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Deletes it and its contents.
    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Waits until `condition` holds, checking every `interval`; false when `timeout` passes first.
public func eventually(
    timeout: Duration = .seconds(10), interval: Duration = .milliseconds(10), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
