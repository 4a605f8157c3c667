import EnergyModel

/// A parsed TOML value that remembers the line it was written on, so every configuration error can name it.
public struct TOMLNode: Sendable, Equatable {
    /// The value itself.
    public var value: TOMLValue
    /// 1-based line of the key (or array element) that introduced the value.
    public var line: Int

    /// Creates a node.
    public init(_ value: TOMLValue, line: Int) {
        self.value = value
        self.line = line
    }
}

/// The TOML data types.
public enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    /// An offset date-time, local date-time, local date or local time, kept as written (RFC 3339 text).
    case datetime(String)
    case array([TOMLNode])
    case table(TOMLTable)

    /// The TOML name of the type, for error messages.
    public var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .float: "float"
        case .boolean: "boolean"
        case .datetime: "date-time"
        case .array: "array"
        case .table: "table"
        }
    }
}

/// A TOML table whose keys keep the order they were written in.
///
/// Stored as one array of key–node pairs, searched in place while small: a configuration of 50 000 meters holds
/// 50 000 small tables, and a dictionary plus a key list each cost three times the memory. Large tables (the
/// gateways, the enterprises) get an index by key.
public struct TOMLTable: Sendable, Equatable {
    private var pairs: [(key: String, node: TOMLNode)] = []
    /// Position of each key, kept only once the table has more than `indexedFrom` keys.
    private var positions: [String: Int]?
    private static let indexedFrom = 16
    /// Whether the table was defined by a `[header]` (or is the root), rather than implied by a dotted key.
    var explicitlyDefined = false

    /// Creates an empty table.
    public init() {}

    /// Keys in the order written.
    public var keys: [String] { pairs.map(\.key) }

    /// Key–node pairs in the order written.
    public var entries: [(key: String, node: TOMLNode)] { pairs }

    private func position(of key: String) -> Int? {
        if let positions { return positions[key] }
        return pairs.firstIndex { $0.key == key }
    }

    /// The node under `key`, if any.
    public subscript(key: String) -> TOMLNode? {
        get { position(of: key).map { pairs[$0].node } }
        set {
            switch (position(of: key), newValue) {
            case (let found?, let node?):
                pairs[found].node = node
            case (nil, let node?):
                pairs.append((key, node))
                if positions != nil {
                    positions![key] = pairs.count - 1
                } else if pairs.count > Self.indexedFrom {
                    positions = Dictionary(uniqueKeysWithValues: pairs.enumerated().map { ($1.key, $0) })
                }
            case (let found?, nil):
                pairs.remove(at: found)
                if positions != nil { positions = Dictionary(uniqueKeysWithValues: pairs.enumerated().map { ($1.key, $0) }) }
            case (nil, nil):
                break
            }
        }
    }

    /// Changes the node under `key` in place, without copying what it holds; `key` must be present.
    mutating func modifyNode(_ key: String, _ body: (inout TOMLNode) throws(TOMLSyntaxError) -> Void) throws(TOMLSyntaxError) {
        try body(&pairs[position(of: key)!].node)
    }

    public static func == (lhs: TOMLTable, rhs: TOMLTable) -> Bool {
        lhs.explicitlyDefined == rhs.explicitlyDefined && lhs.pairs.count == rhs.pairs.count
            && zip(lhs.pairs, rhs.pairs).allSatisfy { $0.key == $1.key && $0.node == $1.node }
    }
}

extension TOMLValue {
    /// The table, taken out and replaced by a placeholder, so that the caller holds its only reference; nil if
    /// this is not a table (and then nothing changes).
    mutating func takeTable() -> TOMLTable? {
        guard case .table(let table) = self else { return nil }
        self = .boolean(false)
        return table
    }

    /// The elements, taken out as `takeTable()` takes a table.
    mutating func takeArray() -> [TOMLNode]? {
        guard case .array(let elements) = self else { return nil }
        self = .boolean(false)
        return elements
    }

    /// Whether this is an array whose last element is a table (an array of tables being built).
    var isArrayEndingInTable: Bool {
        guard case .array(let elements) = self, case .table? = elements.last?.value else { return false }
        return true
    }
}
