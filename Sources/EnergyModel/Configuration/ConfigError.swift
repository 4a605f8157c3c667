/// One thing wrong in a configuration, printed as `FILE:LINE: key: what is wrong`.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file, as given.
    public var file: String
    /// 1-based line.
    public var line: Int
    /// Dotted key path ("gateways.gw1.port", "enterprises.E01.meters[2].unit_id").
    public var key: String
    /// What is wrong, and where it helps, what is expected.
    public var message: String

    /// Creates an error.
    public init(file: String, line: Int, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String { "\(file):\(line): \(key): \(message)" }
}

/// Every error found in a configuration; a configuration with any error is not used.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    /// In file and line order.
    public var errors: [ConfigError]

    /// Creates the list, sorted by file and line.
    public init(_ errors: [ConfigError]) {
        self.errors = errors.sorted { ($0.file, $0.line, $0.key) < ($1.file, $1.line, $1.key) }
    }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// A configuration file's path and text.
public struct ConfigSource: Sendable {
    /// Path as it appears in error messages.
    public var path: String
    /// The TOML text.
    public var text: String

    /// Creates a source.
    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}
