import EnergyModel

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

    /// One line whatever the key or value held: control characters are printed escaped (`\n`, `\u{7}`).
    public var description: String { "\(Self.escaped(file)):\(line): \(Self.escaped(key)): \(Self.escaped(message))" }

    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return text }
        return text.unicodeScalars.map { scalar in
            guard scalar.properties.generalCategory == .control else { return String(scalar) }
            switch scalar {
            case "\n": return "\\n"
            case "\r": return "\\r"
            case "\t": return "\\t"
            default: return "\\u{\(String(scalar.value, radix: 16))}"
            }
        }.joined()
    }
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
