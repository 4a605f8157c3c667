import EnergyModel
import Foundation

/// Collects configuration errors while a file is read, so that every error is reported, not just the first.
public final class Diagnostics {
    /// Errors so far, in the order found.
    public private(set) var errors: [ConfigError] = []

    /// Creates an empty collector.
    public init() {}

    /// Records an error.
    public func report(_ file: String, _ line: Int, _ key: String, _ message: String) {
        errors.append(ConfigError(file: file, line: line, key: key, message: message))
    }
}

/// A TOML table being read into the model: typed getters that report wrong types and ranges, and a
/// `finish()` that reports every key nobody asked for.
public final class ConfigSection {
    public let table: TOMLTable
    /// Dotted path of the table, the prefix of every key it reports.
    public let keyPath: String
    /// Line of the table's header (or first key), where missing keys are reported.
    public let line: Int
    public let file: String
    public let diagnostics: Diagnostics
    private var used: Set<String> = []

    /// Wraps a parsed table found at `keyPath` in `file`.
    public init(table: TOMLTable, keyPath: String, line: Int, file: String, diagnostics: Diagnostics) {
        self.table = table
        self.keyPath = keyPath
        self.line = line
        self.file = file
        self.diagnostics = diagnostics
    }

    public func path(_ key: String) -> String { keyPath.isEmpty ? key : "\(keyPath).\(key)" }

    /// Reports an error on `key` (at its line when present, else at the table's).
    public func report(_ key: String, _ message: String) {
        diagnostics.report(file, table[key]?.line ?? line, path(key), message)
    }

    private func node(_ key: String, required: Bool) -> TOMLNode? {
        used.insert(key)
        guard let node = table[key] else {
            if required { diagnostics.report(file, line, path(key), "missing; this key is required") }
            return nil
        }
        return node
    }

    private func wrongType(_ key: String, _ node: TOMLNode, expected: String) {
        diagnostics.report(file, node.line, path(key), "expected \(expected), found \(node.value.typeName)")
    }

    /// The raw node under `key`, marked as read; nil when missing (no error).
    public func node(_ key: String) -> TOMLNode? { node(key, required: false) }

    /// A date-time, written as a TOML date-time or as a string; returned as text for `ISO8601Time`.
    public func datetime(_ key: String, required: Bool = false) -> String? {
        guard let node = node(key, required: required) else { return nil }
        switch node.value {
        case .datetime(let text), .string(let text): return text
        default:
            wrongType(key, node, expected: "a date-time")
            return nil
        }
    }

    /// An array of numbers, of exactly `count` elements when given.
    public func numbers(_ key: String, count: Int? = nil) -> [Double]? {
        guard let node = node(key, required: false) else { return nil }
        let expected = count.map { "an array of \($0) numbers" } ?? "an array of numbers"
        guard case .array(let elements) = node.value else {
            wrongType(key, node, expected: expected)
            return nil
        }
        let values: [Double] = elements.compactMap {
            switch $0.value {
            case .integer(let value): Double(value)
            case .float(let value): value
            default: nil
            }
        }
        guard values.count == elements.count, count.map({ $0 == values.count }) ?? true else {
            diagnostics.report(file, node.line, path(key), "expected \(expected)")
            return nil
        }
        return values
    }

    /// A string; nil (and an error when required) if missing or not a string.
    public func string(_ key: String, required: Bool = true) -> String? {
        guard let node = node(key, required: required) else { return nil }
        guard case .string(let value) = node.value else {
            wrongType(key, node, expected: "a string")
            return nil
        }
        if required, value.trimmingCharacters(in: .whitespaces).isEmpty {
            diagnostics.report(file, node.line, path(key), "must not be empty")
            return nil
        }
        return value
    }

    /// An integer within `range`.
    public func integer(_ key: String, range: ClosedRange<Int>, required: Bool = false) -> Int? {
        guard let node = node(key, required: required) else { return nil }
        guard case .integer(let value) = node.value else {
            wrongType(key, node, expected: "an integer")
            return nil
        }
        guard let int = Int(exactly: value), range.contains(int) else {
            diagnostics.report(
                file, node.line, path(key), "\(value) is out of range; expected \(range.lowerBound)…\(range.upperBound)")
            return nil
        }
        return int
    }

    /// A finite number (integer or float).
    public func number(_ key: String, required: Bool = false) -> Double? {
        guard let node = node(key, required: required) else { return nil }
        let value: Double
        switch node.value {
        case .integer(let int): value = Double(int)
        case .float(let float): value = float
        default:
            wrongType(key, node, expected: "a number")
            return nil
        }
        guard value.isFinite else {
            diagnostics.report(file, node.line, path(key), "must be a finite number")
            return nil
        }
        return value
    }

    /// An array of strings (may be empty).
    public func strings(_ key: String) -> [String]? {
        guard let node = node(key, required: false) else { return nil }
        guard case .array(let items) = node.value,
            case let texts = items.compactMap({ item -> String? in if case .string(let text) = item.value { text } else { nil } }),
            texts.count == items.count
        else {
            wrongType(key, node, expected: "an array of strings")
            return nil
        }
        return texts
    }

    /// A boolean.
    public func boolean(_ key: String) -> Bool? {
        guard let node = node(key, required: false) else { return nil }
        guard case .boolean(let value) = node.value else {
            wrongType(key, node, expected: "true or false")
            return nil
        }
        return value
    }

    /// One of an enumeration's raw values.
    public func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, required: Bool = true) -> Choice?
    where Choice.RawValue == String {
        guard let text = string(key, required: required) else { return nil }
        guard let value = Choice(rawValue: text) else {
            let allowed = Choice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            report(key, "\"\(text)\" is not one of \(allowed)")
            return nil
        }
        return value
    }

    /// An integer-coded enumeration (Modbus function codes).
    public func choice<Choice: RawRepresentable & CaseIterable>(integer key: String) -> Choice? where Choice.RawValue == Int {
        guard let node = node(key, required: true) else { return nil }
        guard case .integer(let value) = node.value, let choice = Choice(rawValue: Int(value)) else {
            let allowed = Choice.allCases.map { String($0.rawValue) }.joined(separator: " or ")
            diagnostics.report(file, node.line, path(key), "expected \(allowed)")
            return nil
        }
        return choice
    }

    /// A sub-table.
    public func section(_ key: String, required: Bool = false) -> ConfigSection? {
        guard let node = node(key, required: required) else { return nil }
        guard case .table(let child) = node.value else {
            wrongType(key, node, expected: "a table")
            return nil
        }
        return ConfigSection(table: child, keyPath: path(key), line: node.line, file: file, diagnostics: diagnostics)
    }

    /// The tables under `key` keyed by name (`[gateways.gw1]`, `[gateways.gw2]`), in the order written.
    public func namedSections(_ key: String) -> [(name: String, section: ConfigSection)] {
        guard let parent = section(key) else { return [] }
        return parent.table.entries.compactMap { name, _ in
            guard let child = parent.section(name) else { return nil }
            return (name, child)
        }
    }

    /// An array of tables (`[[…points]]`).
    public func sectionArray(_ key: String, required: Bool = false) -> [ConfigSection] {
        guard let node = node(key, required: required) else { return [] }
        guard case .array(let elements) = node.value else {
            wrongType(key, node, expected: "an array of tables")
            return []
        }
        return elements.enumerated().compactMap { offset, element in
            guard case .table(let child) = element.value else {
                diagnostics.report(file, element.line, "\(path(key))[\(offset)]", "expected a table")
                return nil
            }
            return ConfigSection(
                table: child, keyPath: "\(path(key))[\(offset)]", line: element.line, file: file,
                diagnostics: diagnostics)
        }
    }

    /// Reports every key that was never read: a typo must not pass silently.
    public func finish() {
        for key in table.keys where !used.contains(key) {
            diagnostics.report(file, table[key]!.line, path(key), "unknown key")
        }
    }
}

extension ConfigSection {
    /// A string given inline (`key`) or in a file (`key_file`) readable by the service user only.
    public func secret(_ key: String, required: Bool) -> String? {
        let inline = string(key, required: false)
        guard let secretFile = string(key + "_file", required: false) else {
            if inline == nil, required { report(key, "missing; set \(key) or \(key)_file") }
            return inline
        }
        if inline != nil { report(key + "_file", "\(key) is set too; give one of them") }
        let path = ConfigPaths.resolve(secretFile, besideFile: file)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let text = try? String(contentsOfFile: path, encoding: .utf8)
        else {
            report(key + "_file", "cannot read \(path)")
            return nil
        }
        if let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o004 != 0 {
            report(key + "_file", "\(path) is readable by every user; a secret's file must not be (chmod 600 or 640)")
        }
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if value.isEmpty { report(key + "_file", "\(path) is empty") }
        return value
    }
}
