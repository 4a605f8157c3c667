import Foundation

@testable import EnergyModel

/// The package's root directory, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The configuration shipped in Config/.
let shippedConfigPath = packageRoot + "/Config/energyd.toml"

/// The valid base configuration with `text` appended, loaded as main.toml: the configuration, or its errors.
func loadOnValidBase(_ text: String) -> (EnergyConfiguration?, [String]) {
    do {
        return (try ConfigurationLoader.parse(main: ConfigSource(path: "main.toml", text: ConfigurationLoaderTests.validBase + text)), [])
    } catch {
        return (nil, error.errors.map(\.description))
    }
}

/// The line of `needle` in the valid base with `text` appended.
func lineOnValidBase(of needle: String, in text: String) -> Int {
    let lines = (ConfigurationLoaderTests.validBase + text).components(separatedBy: "\n")
    return (lines.firstIndex { $0.contains(needle) } ?? -1) + 1
}
