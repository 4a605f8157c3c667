import ConfigurationFiles
import Foundation
import TestSupport

@testable import EnergyModel

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
