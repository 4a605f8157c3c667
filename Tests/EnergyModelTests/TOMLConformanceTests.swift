import Foundation
import Testing

@testable import ConfigurationFiles
@testable import EnergyModel

/// The parser against the official toml-test suite (TOML 1.0.0 cases, carried in `toml-test/` under its MIT licence):
/// every valid file parses to the suite's expected values, every invalid one is refused with a line.
@Suite struct TOMLConformanceTests {
    static let suite = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("toml-test").path

    /// The suite's files for TOML 1.0.0, as its `files-toml-1.0.0` lists them.
    static func cases(_ kind: String) throws -> [String] {
        try String(contentsOfFile: suite + "/files-toml-1.0.0", encoding: .utf8).split(separator: "\n")
            .map(String.init).filter { $0.hasPrefix(kind + "/") && $0.hasSuffix(".toml") }
    }

    static func bytes(_ file: String) throws -> [UInt8] { try [UInt8](Data(contentsOf: URL(fileURLWithPath: suite + "/" + file))) }

    @Test func everyValidFileParsesToTheSuitesValues() throws {
        let files = try Self.cases("valid")
        #expect(files.count > 200)
        var failures: [String] = []
        for file in files {
            do {
                let table = try TOMLParser.parse(bytes: try Self.bytes(file))
                let expected = try JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: Self.suite + "/" + file.dropLast(5) + ".json")))
                if let difference = Self.difference(.table(table), expected, at: "") { failures.append("\(file): \(difference)") }
            } catch {
                failures.append("\(file): refused: \(error)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(files.count) valid files wrong:\n\(failures.joined(separator: "\n"))")
    }

    @Test func everyInvalidFileIsRefusedWithALine() throws {
        let files = try Self.cases("invalid")
        #expect(files.count > 400)
        var accepted: [String] = []
        for file in files {
            let bytes = try Self.bytes(file)
            do throws(TOMLSyntaxError) {
                _ = try TOMLParser.parse(bytes: bytes)
                accepted.append(file)
            } catch {
                #expect(error.line >= 1, "\(file)")
            }
        }
        #expect(accepted.isEmpty, "\(accepted.count) of \(files.count) invalid files accepted:\n\(accepted.joined(separator: "\n"))")
    }

    /// Where `value` differs from toml-test's tagged JSON (`{"type": …, "value": "…"}` leaves), or nil.
    static func difference(_ value: TOMLValue, _ expected: Any, at path: String) -> String? {
        switch value {
        case .table(let table):
            guard let object = expected as? [String: Any], object["type"] == nil || object.count != 2 else {
                return "\(path): a table where \(expected) was expected"
            }
            guard Set(table.keys) == Set(object.keys) else { return "\(path): keys \(table.keys.sorted()) ≠ \(object.keys.sorted())" }
            for (key, node) in table.entries {
                if let found = difference(node.value, object[key]!, at: path + "." + key) { return found }
            }
            return nil
        case .array(let elements):
            guard let array = expected as? [Any], array.count == elements.count else { return "\(path): array ≠ \(expected)" }
            for (index, (node, element)) in zip(elements, array).enumerated() {
                if let found = difference(node.value, element, at: "\(path)[\(index)]") { return found }
            }
            return nil
        default:
            guard let leaf = expected as? [String: String], let type = leaf["type"], let text = leaf["value"] else {
                return "\(path): \(value) where \(expected) was expected"
            }
            let same: Bool
            switch (value, type) {
            case (.string(let s), "string"): same = s == text
            case (.integer(let i), "integer"): same = Int64(text) == i
            case (.boolean(let b), "bool"): same = String(b) == text
            case (.float(let f), "float"):
                same = f.isNaN ? text == "nan" : f == Double(text.replacingOccurrences(of: "inf", with: "infinity"))
            case (.datetime(let d), "datetime"), (.datetime(let d), "datetime-local"), (.datetime(let d), "date-local"),
                (.datetime(let d), "time-local"):
                same = TOMLDateTime(d)?.kind.rawValue == type && normalised(d) == normalised(text)
            default: same = false
            }
            return same ? nil : "\(path): \(value) ≠ \(type) \(text)"
        }
    }

    /// A date-time as toml-test compares them: `T` and `Z` upper case, fraction without trailing zeros.
    static func normalised(_ text: String) -> String {
        var text = text.uppercased().replacingOccurrences(of: " ", with: "T")
        if let dot = text.firstIndex(of: ".") {
            let end = text[dot...].dropFirst().firstIndex { !$0.isNumber } ?? text.endIndex
            var fraction = String(text[text.index(after: dot)..<end])
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text.replaceSubrange(dot..<end, with: fraction.isEmpty ? "" : "." + fraction)
        }
        return text.replacingOccurrences(of: "+00:00", with: "Z").replacingOccurrences(of: "-00:00", with: "Z")
    }
}
