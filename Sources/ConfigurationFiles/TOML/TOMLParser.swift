import EnergyModel

/// A TOML syntax error at a line.
public struct TOMLSyntaxError: Error, Sendable, Equatable {
    /// 1-based line.
    public var line: Int
    /// What is wrong.
    public var message: String
}

/// A TOML 1.0 parser that records the line of every key.
///
/// Written here rather than taken from a library because configuration errors must name file, line
/// and key, and the TOML libraries available keep no source positions for values.
public struct TOMLParser {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var root = TOMLTable()
    /// Path of the table that key/value lines currently go into.
    private var currentPath: [String] = []
    /// Tables that were defined by a header, to reject a second `[same]`.
    private var definedHeaders: Set<[String]> = []
    /// Tables written inline (`{ … }`) or as static arrays, which may not be extended later.
    private var sealedPaths: Set<[String]> = []
    /// Tables made by dotted keys (`apple.color = …`), which a later `[header]` may not open again.
    private var dottedPaths: Set<[String]> = []
    /// Arrays and inline tables open around the value being parsed.
    private var nesting = 0

    /// Deepest nesting of arrays and inline tables, and most parts of a dotted key: a configuration needs a few,
    /// and the parser's work and stack stay bounded whatever a file holds.
    public static let maximumNesting = 32
    public static let maximumKeyParts = 32

    /// Parses a whole document.
    public static func parse(_ text: String) throws(TOMLSyntaxError) -> TOMLTable {
        try parse(bytes: Array(text.utf8))
    }

    /// Parses a file's bytes: UTF-8, optionally behind a byte-order mark (Windows Notepad writes one).
    public static func parse(bytes: [UInt8]) throws(TOMLSyntaxError) -> TOMLTable {
        let text = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
        try checkCharacters(text)
        var parser = TOMLParser(bytes: text)
        return try parser.parseDocument()
    }

    /// Refuses what TOML allows nowhere, strings and comments included: invalid UTF-8, and control characters other
    /// than tab, line feed and the carriage return of a CRLF (escapes such as `\u0000` are how strings hold them).
    private static func checkCharacters(_ bytes: [UInt8]) throws(TOMLSyntaxError) {
        var line = 1
        var lineStart = 0
        for (index, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "\n"):
                guard String(validating: bytes[lineStart..<index], as: UTF8.self) != nil else {
                    throw TOMLSyntaxError(line: line, message: "the line is not valid UTF-8")
                }
                line += 1
                lineStart = index + 1
            case UInt8(ascii: "\r") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "\n"), UInt8(ascii: "\t"): break
            case 0..<0x20, 0x7F:
                throw TOMLSyntaxError(line: line, message: "control character U+\(String(byte, radix: 16, uppercase: true)) is not allowed")
            default: break
            }
        }
        guard String(validating: bytes[lineStart...], as: UTF8.self) != nil else {
            throw TOMLSyntaxError(line: line, message: "the line is not valid UTF-8")
        }
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
        root.explicitlyDefined = true
    }

    private var atEnd: Bool { index >= bytes.count }
    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }
    private func peek(at offset: Int) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private func fail(_ message: String) -> TOMLSyntaxError {
        TOMLSyntaxError(line: line, message: message)
    }

    private mutating func parseDocument() throws(TOMLSyntaxError) -> TOMLTable {
        while true {
            skipWhitespace()
            guard let byte = peek else { break }
            switch byte {
            case UInt8(ascii: "#"): skipComment()
            case UInt8(ascii: "\n"): index += 1; line += 1
            case UInt8(ascii: "\r") where peek(at: 1) == UInt8(ascii: "\n"): index += 2; line += 1
            case UInt8(ascii: "["): try parseHeader()
            default: try parseKeyValueLine()
            }
        }
        return root
    }

    // MARK: Lines

    private mutating func parseHeader() throws(TOMLSyntaxError) {
        let headerLine = line
        index += 1
        let isArray = peek == UInt8(ascii: "[")
        if isArray { index += 1 }
        skipWhitespace()
        let path = try parseKey()
        skipWhitespace()
        guard peek == UInt8(ascii: "]") else { throw fail("expected ']' to close the table header") }
        index += 1
        if isArray {
            guard peek == UInt8(ascii: "]") else { throw fail("expected ']]' to close the array-of-tables header") }
            index += 1
        }
        try expectEndOfLine()
        if isArray {
            try appendArrayTable(at: path, line: headerLine)
        } else {
            try defineTable(at: path, line: headerLine)
        }
        currentPath = path
    }

    private mutating func parseKeyValueLine() throws(TOMLSyntaxError) {
        let keyLine = line
        let key = try parseKey()
        skipWhitespace()
        guard peek == UInt8(ascii: "=") else { throw fail("expected '=' after key '\(key.joined(separator: "."))'") }
        index += 1
        skipWhitespace()
        let value = try parseValue(path: currentPath + key)
        try expectEndOfLine()
        try insert(TOMLNode(value, line: keyLine), at: currentPath, key: key)
    }

    private mutating func expectEndOfLine() throws(TOMLSyntaxError) {
        skipWhitespace()
        if peek == UInt8(ascii: "#") { skipComment() }
        guard let byte = peek else { return }
        if byte == UInt8(ascii: "\n") {
            index += 1
            line += 1
        } else if byte == UInt8(ascii: "\r"), peek(at: 1) == UInt8(ascii: "\n") {
            index += 2
            line += 1
        } else {
            throw fail("unexpected '\(Character(Unicode.Scalar(byte)))' after value; expected end of line")
        }
    }

    // MARK: Tables

    private mutating func defineTable(at path: [String], line: Int) throws(TOMLSyntaxError) {
        if dottedPaths.contains(path) {
            throw fail("table [\(path.joined(separator: "."))] was already defined by dotted keys")
        }
        if definedHeaders.contains(path) || sealedPaths.contains(path) {
            throw fail("table [\(path.joined(separator: "."))] is defined more than once")
        }
        try checkNotInsideSealed(path)
        definedHeaders.insert(path)
        try Self.navigate(&root, path: path, line: line, createLast: true) { table throws(TOMLSyntaxError) in
            if table.explicitlyDefined && !path.isEmpty {
                throw TOMLSyntaxError(line: line, message: "table [\(path.joined(separator: "."))] is defined more than once")
            }
            table.explicitlyDefined = true
        }
    }

    private mutating func appendArrayTable(at path: [String], line: Int) throws(TOMLSyntaxError) {
        if sealedPaths.contains(path) {
            throw fail("'\(path.joined(separator: "."))' is a static array and cannot be extended")
        }
        try checkNotInsideSealed(path)
        let parent = Array(path.dropLast())
        let last = path[path.count - 1]
        try Self.navigate(&root, path: parent, line: line, createLast: true) { table throws(TOMLSyntaxError) in
            var fresh = TOMLTable()
            fresh.explicitlyDefined = true
            guard table[last] != nil else {
                table[last] = TOMLNode(.array([TOMLNode(.table(fresh), line: line)]), line: line)
                return
            }
            try table.modifyNode(last) { (node: inout TOMLNode) throws(TOMLSyntaxError) in
                guard var elements = node.value.takeArray() else {
                    throw TOMLSyntaxError(line: line, message: "'\(last)' is already a \(node.value.typeName), not an array of tables")
                }
                elements.append(TOMLNode(.table(fresh), line: line))
                node.value = .array(elements)
            }
        }
        // Headers and dotted keys under a new array element start fresh.
        definedHeaders = definedHeaders.filter { !($0.count > path.count && Array($0.prefix(path.count)) == path) }
        dottedPaths = dottedPaths.filter { !($0.count > path.count && Array($0.prefix(path.count)) == path) }
    }

    /// Inline tables and static arrays are complete as written: no header may add a table inside them.
    private func checkNotInsideSealed(_ path: [String]) throws(TOMLSyntaxError) {
        if let sealed = (1..<max(path.count, 1)).first(where: { sealedPaths.contains(Array(path.prefix($0))) }) {
            throw fail("'\(path.prefix(sealed).joined(separator: "."))' was written inline and cannot be extended")
        }
    }

    private mutating func insert(_ node: TOMLNode, at tablePath: [String], key: [String]) throws(TOMLSyntaxError) {
        let line = node.line
        let fullPath = tablePath + key
        // Keys have at most `maximumKeyParts` parts: looking up each prefix keeps an insert's cost independent of the file.
        if (1..<fullPath.count).contains(where: { sealedPaths.contains(Array(fullPath.prefix($0))) }) {
            throw fail("cannot add keys to inline table '\(fullPath.dropLast().joined(separator: "."))'")
        }
        let parent = tablePath + key.dropLast()
        let last = key[key.count - 1]
        // A dotted key defines its tables: it may not add to one a header defined, nor step into an array of tables.
        for count in tablePath.count + 1..<fullPath.count {
            let prefix = Array(fullPath.prefix(count))
            if definedHeaders.contains(prefix) {
                throw fail("table [\(prefix.joined(separator: "."))] was defined by a header; a dotted key cannot add to it")
            }
            dottedPaths.insert(prefix)
        }
        try Self.navigate(&root, path: parent, line: line, createLast: true, dottedFrom: tablePath.count) {
            table throws(TOMLSyntaxError) in
            if table[last] != nil {
                throw TOMLSyntaxError(line: line, message: "duplicate key '\(fullPath.joined(separator: "."))'")
            }
            table[last] = node
        }
        if case .table = node.value { sealedPaths.insert(fullPath) }
        if case .array = node.value { sealedPaths.insert(fullPath) }
    }

    /// Walks to the table at `path`, creating implicit tables, stepping into the last element of arrays of tables.
    /// Each table on the way is taken out of its node while it changes: a copy left in the node would make every
    /// change copy the whole table, and loading a district of thousands of meters quadratic.
    /// Parts of `path` from `dottedFrom` on were written as a dotted key, which may not step into an array of tables.
    private static func navigate(
        _ table: inout TOMLTable,
        path: [String],
        line: Int,
        createLast: Bool,
        dottedFrom: Int = .max,
        _ body: (inout TOMLTable) throws(TOMLSyntaxError) -> Void
    ) throws(TOMLSyntaxError) {
        guard let first = path.first else {
            try body(&table)
            return
        }
        let rest = Array(path.dropFirst())
        guard table[first] != nil else {
            var child = TOMLTable()
            try navigate(&child, path: rest, line: line, createLast: createLast, dottedFrom: dottedFrom - 1, body)
            table[first] = TOMLNode(.table(child), line: line)
            return
        }
        try table.modifyNode(first) { (node: inout TOMLNode) throws(TOMLSyntaxError) in
            if var child = node.value.takeTable() {
                defer { node.value = .table(child) }
                try navigate(&child, path: rest, line: line, createLast: createLast, dottedFrom: dottedFrom - 1, body)
            } else if node.value.isArrayEndingInTable, dottedFrom > 0, var elements = node.value.takeArray() {
                var child = elements[elements.count - 1].value.takeTable()!
                defer {
                    elements[elements.count - 1].value = .table(child)
                    node.value = .array(elements)
                }
                try navigate(&child, path: rest, line: line, createLast: createLast, dottedFrom: dottedFrom - 1, body)
            } else if node.value.isArrayEndingInTable {
                throw TOMLSyntaxError(line: line, message: "'\(first)' is an array of tables; a dotted key cannot add to it")
            } else if case .array = node.value {
                throw TOMLSyntaxError(line: line, message: "'\(first)' is an array of values, not of tables")
            } else {
                throw TOMLSyntaxError(line: line, message: "'\(first)' is a \(node.value.typeName), not a table")
            }
        }
    }

    // MARK: Keys

    private mutating func parseKey() throws(TOMLSyntaxError) -> [String] {
        var parts: [String] = []
        while true {
            skipWhitespace()
            guard parts.count < Self.maximumKeyParts else { throw fail("key has more than \(Self.maximumKeyParts) dotted parts") }
            parts.append(try parseSimpleKey())
            skipWhitespace()
            guard peek == UInt8(ascii: ".") else { return parts }
            index += 1
        }
    }

    private mutating func parseSimpleKey() throws(TOMLSyntaxError) -> String {
        switch peek {
        case UInt8(ascii: "\"")?: return try parseBasicString()
        case UInt8(ascii: "'")?: return try parseLiteralString()
        default:
            let start = index
            while let byte = peek, Self.isBareKeyByte(byte) { index += 1 }
            guard index > start else {
                if let byte = peek {
                    throw fail("expected a key, found '\(Character(Unicode.Scalar(byte)))'")
                }
                throw fail("expected a key, found end of file")
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
    }

    private static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    // MARK: Values

    private mutating func parseValue(path: [String]) throws(TOMLSyntaxError) -> TOMLValue {
        guard let byte = peek else { throw fail("expected a value, found end of file") }
        switch byte {
        case UInt8(ascii: "\""):
            if peek(at: 1) == UInt8(ascii: "\""), peek(at: 2) == UInt8(ascii: "\"") {
                return .string(try parseMultilineBasicString())
            }
            return .string(try parseBasicString())
        case UInt8(ascii: "'"):
            if peek(at: 1) == UInt8(ascii: "'"), peek(at: 2) == UInt8(ascii: "'") {
                return .string(try parseMultilineLiteralString())
            }
            return .string(try parseLiteralString())
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            guard nesting < Self.maximumNesting else { throw fail("arrays and inline tables nested more than \(Self.maximumNesting) deep") }
            nesting += 1
            defer { nesting -= 1 }
            return byte == UInt8(ascii: "[") ? try parseArray(path: path) : try parseInlineTable(path: path)
        case UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "#"): throw fail("expected a value after '='")
        default: return try parseScalar()
        }
    }

    private mutating func parseArray(path: [String]) throws(TOMLSyntaxError) -> TOMLValue {
        index += 1
        var elements: [TOMLNode] = []
        while true {
            skipWhitespaceCommentsAndNewlines()
            guard let byte = peek else { throw fail("unterminated array") }
            if byte == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            let elementLine = line
            let value = try parseValue(path: path)
            elements.append(TOMLNode(value, line: elementLine))
            skipWhitespaceCommentsAndNewlines()
            if atEnd { throw fail("unterminated array") }
            if peek == UInt8(ascii: ",") {
                index += 1
            } else if peek != UInt8(ascii: "]") {
                throw fail("expected ',' or ']' in array")
            }
        }
    }

    private mutating func parseInlineTable(path: [String]) throws(TOMLSyntaxError) -> TOMLValue {
        index += 1
        var table = TOMLTable()
        table.explicitlyDefined = true
        /// Keys whose values were written whole (inline tables, arrays): dotted keys may not add to them.
        var written: Set<[String]> = []
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            index += 1
            return .table(table)
        }
        while true {
            skipWhitespace()
            let keyLine = line
            let key = try parseKey()
            skipWhitespace()
            guard peek == UInt8(ascii: "=") else { throw fail("expected '=' in inline table") }
            index += 1
            skipWhitespace()
            let value = try parseValue(path: path + key)
            let last = key[key.count - 1]
            if let whole = (1..<key.count).first(where: { written.contains(Array(key.prefix($0))) }) {
                throw fail("'\(key.prefix(whole).joined(separator: "."))' was written whole and cannot be extended")
            }
            switch value {
            case .table, .array: written.insert(key)
            default: break
            }
            try Self.navigate(&table, path: Array(key.dropLast()), line: keyLine, createLast: true) {
                inner throws(TOMLSyntaxError) in
                if inner[last] != nil {
                    throw TOMLSyntaxError(line: keyLine, message: "duplicate key '\(key.joined(separator: "."))'")
                }
                inner[last] = TOMLNode(value, line: keyLine)
            }
            skipWhitespace()
            if peek == UInt8(ascii: ",") {
                index += 1
            } else if peek == UInt8(ascii: "}") {
                index += 1
                return .table(table)
            } else {
                throw fail("expected ',' or '}' in inline table")
            }
        }
    }

    private mutating func parseScalar() throws(TOMLSyntaxError) -> TOMLValue {
        let start = index
        while let byte = peek, !Self.endsScalar(byte) { index += 1 }
        // A date and a time may be separated by one space: "1979-05-27 07:32:00".
        if index - start == 10, peek == UInt8(ascii: " "), let digit = peek(at: 1),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit), peek(at: 3) == UInt8(ascii: ":")
        {
            index += 1
            while let byte = peek, !Self.endsScalar(byte) { index += 1 }
        }
        let token = String(decoding: bytes[start..<index], as: UTF8.self)
        guard !token.isEmpty else { throw fail("expected a value") }
        if let value = Self.scalar(token) { return value }
        throw fail("'\(token)' is not a valid TOML value (strings need quotes)")
    }

    private static func endsScalar(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: ","),
            UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "#"):
            true
        default: false
        }
    }

    static func scalar(_ token: String) -> TOMLValue? {
        switch token {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan", "-nan": return .float(.nan)
        default: break
        }
        if let integer = integer(token) { return .integer(integer) }
        if TOMLDateTime(token) != nil { return .datetime(token.replacingFirstSpaceWithT()) }
        if let float = float(token) { return .float(float) }
        return nil
    }

    private static func integer(_ token: String) -> Int64? {
        var text = Substring(token)
        for prefix in ["0x", "0o", "0b"] where text.hasPrefix(prefix) {
            let digits = text.dropFirst(2)
            guard let first = digits.first, first != "_", digits.last != "_", !digits.contains("__"),
                digits.allSatisfy({ $0 == "_" || $0.isHexDigit })
            else { return nil }
            let radix = prefix == "0x" ? 16 : prefix == "0o" ? 8 : 2
            return Int64(digits.replacingOccurrences(of: "_", with: ""), radix: radix)
        }
        var negative = false
        if text.first == "+" || text.first == "-" {
            negative = text.first == "-"
            text = text.dropFirst()
        }
        guard let first = text.first, first.isASCIIDigit, text.last != "_", !text.contains("__") else { return nil }
        guard text.allSatisfy({ $0.isASCIIDigit || $0 == "_" }) else { return nil }
        if text.count > 1, first == "0" { return nil }
        // The magnitude of Int64.min is one more than Int64.max.
        guard let magnitude = UInt64(text.replacingOccurrences(of: "_", with: "")) else { return nil }
        if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    private static func float(_ token: String) -> Double? {
        let cleaned = token.replacingOccurrences(of: "_", with: "")
        // Each underscore stands between two digits.
        let characters = Array(token)
        for (index, character) in characters.enumerated() where character == "_" {
            guard index > 0, index + 1 < characters.count, characters[index - 1].isASCIIDigit, characters[index + 1].isASCIIDigit
            else { return nil }
        }
        guard
            cleaned.allSatisfy({ $0.isASCIIDigit || "+-.eE".contains($0) }),
            cleaned.contains(where: \.isASCIIDigit)
        else { return nil }
        // A float has a fraction or an exponent, and its integer part no leading zero.
        guard cleaned.contains(where: { ".eE".contains($0) }) else { return nil }
        let integerPart = cleaned.drop { $0 == "+" || $0 == "-" }.prefix { $0.isASCIIDigit }
        if integerPart.count > 1, integerPart.first == "0" { return nil }
        // TOML needs a digit on each side of the point.
        if let dot = cleaned.firstIndex(of: ".") {
            let before = cleaned[..<dot].last
            let after = cleaned[cleaned.index(after: dot)...].first
            guard before?.isASCIIDigit == true, after?.isASCIIDigit == true else { return nil }
        }
        return Double(cleaned)
    }

    // MARK: Strings

    private mutating func parseBasicString() throws(TOMLSyntaxError) -> String {
        index += 1
        var out: [UInt8] = []
        while true {
            guard let byte = peek else { throw fail("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\n"):
                throw fail("unterminated string (newline before closing quote)")
            case UInt8(ascii: "\\"):
                try parseEscape(into: &out)
            default:
                out.append(byte)
                index += 1
            }
        }
    }

    private mutating func parseMultilineBasicString() throws(TOMLSyntaxError) -> String {
        index += 3
        skipFirstNewline()
        var out: [UInt8] = []
        while true {
            guard let byte = peek else { throw fail("unterminated multi-line string") }
            if byte == UInt8(ascii: "\""), peek(at: 1) == UInt8(ascii: "\""), peek(at: 2) == UInt8(ascii: "\"") {
                index += 3
                // Up to two further quotes belong to the string.
                for _ in 0..<2 where peek == UInt8(ascii: "\"") {
                    out.append(UInt8(ascii: "\""))
                    index += 1
                }
                return String(decoding: out, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") {
                // A line-ending backslash trims the newline and the whitespace after it.
                var probe = index + 1
                while probe < bytes.count, bytes[probe] == UInt8(ascii: " ") || bytes[probe] == UInt8(ascii: "\t") {
                    probe += 1
                }
                if probe < bytes.count, bytes[probe] == UInt8(ascii: "\n") || bytes[probe] == UInt8(ascii: "\r") {
                    index = probe
                    skipWhitespaceCommentsAndNewlines(allowComments: false)
                    continue
                }
                try parseEscape(into: &out)
                continue
            }
            if byte == UInt8(ascii: "\n") { line += 1 }
            out.append(byte)
            index += 1
        }
    }

    private mutating func parseLiteralString() throws(TOMLSyntaxError) -> String {
        index += 1
        let start = index
        while let byte = peek, byte != UInt8(ascii: "'") {
            if byte == UInt8(ascii: "\n") { throw fail("unterminated literal string") }
            index += 1
        }
        guard !atEnd else { throw fail("unterminated literal string") }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        index += 1
        return text
    }

    private mutating func parseMultilineLiteralString() throws(TOMLSyntaxError) -> String {
        index += 3
        skipFirstNewline()
        let start = index
        while true {
            guard let byte = peek else { throw fail("unterminated multi-line literal string") }
            if byte == UInt8(ascii: "'"), peek(at: 1) == UInt8(ascii: "'"), peek(at: 2) == UInt8(ascii: "'") {
                var end = index
                index += 3
                for _ in 0..<2 where peek == UInt8(ascii: "'") {
                    index += 1
                    end += 1
                }
                return String(decoding: bytes[start..<end], as: UTF8.self)
            }
            if byte == UInt8(ascii: "\n") { line += 1 }
            index += 1
        }
    }

    private mutating func skipFirstNewline() {
        if peek == UInt8(ascii: "\n") {
            index += 1
            line += 1
        } else if peek == UInt8(ascii: "\r"), peek(at: 1) == UInt8(ascii: "\n") {
            index += 2
            line += 1
        }
    }

    private mutating func parseEscape(into out: inout [UInt8]) throws(TOMLSyntaxError) {
        index += 1
        guard let code = peek else { throw fail("unterminated escape sequence") }
        index += 1
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "b"): 8, UInt8(ascii: "t"): 9, UInt8(ascii: "n"): 10, UInt8(ascii: "f"): 12,
            UInt8(ascii: "r"): 13, UInt8(ascii: "\""): 34, UInt8(ascii: "\\"): 92,
        ]
        if let replacement = simple[code] {
            out.append(replacement)
            return
        }
        let length: Int
        switch code {
        case UInt8(ascii: "u"): length = 4
        case UInt8(ascii: "U"): length = 8
        default: throw fail("invalid escape '\\\(Character(Unicode.Scalar(code)))'")
        }
        guard index + length <= bytes.count,
            let value = UInt32(String(decoding: bytes[index..<index + length], as: UTF8.self), radix: 16),
            let scalar = Unicode.Scalar(value)
        else { throw fail("invalid unicode escape") }
        index += length
        out.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    // MARK: Whitespace

    private mutating func skipWhitespace() {
        while let byte = peek, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { index += 1 }
    }

    private mutating func skipComment() {
        while let byte = peek, byte != UInt8(ascii: "\n") { index += 1 }
    }

    private mutating func skipWhitespaceCommentsAndNewlines(allowComments: Bool = true) {
        while let byte = peek {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): index += 1
            case UInt8(ascii: "\n"):
                index += 1
                line += 1
            case UInt8(ascii: "#") where allowComments: skipComment()
            default: return
            }
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension StringProtocol {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

extension String {
    fileprivate func replacingFirstSpaceWithT() -> String {
        guard let space = firstIndex(of: " ") else { return self }
        var copy = self
        copy.replaceSubrange(space...space, with: "T")
        return copy
    }
}
