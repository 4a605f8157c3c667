import Testing

@testable import ConfigurationFiles
@testable import EnergyModel

@Suite struct TOMLParserTests {
    @Test func parsesValuesTablesAndArraysWithLines() throws {
        let text = """
            # comment
            title = "能耗 \\"监测\\"" # trailing
            [daemon]
            port = 0x1F6
            ratio = 1_000.5
            on = true
            when = 2026-01-01T00:00:00+08:00
            day = 2026-01-01
            list = [1, 2,
              3,]
            inline = { a = 1, b.c = 'x' }
            [[points]]
            name = "a"
            [[points]]
            name = "b"
            [points.extra]
            n = -5
            """
        let root = try TOMLParser.parse(text)
        #expect(root["title"] == TOMLNode(.string("能耗 \"监测\""), line: 2))
        guard case .table(let daemon)? = root["daemon"]?.value else {
            Issue.record("no daemon table")
            return
        }
        #expect(daemon["port"] == TOMLNode(.integer(502), line: 4))
        #expect(daemon["ratio"]?.value == .float(1000.5))
        #expect(daemon["on"]?.value == .boolean(true))
        #expect(daemon["when"]?.value == .datetime("2026-01-01T00:00:00+08:00"))
        #expect(daemon["day"]?.value == .datetime("2026-01-01"))
        #expect(daemon["list"]?.line == 9)
        if case .array(let items)? = daemon["list"]?.value {
            #expect(items.map(\.value) == [.integer(1), .integer(2), .integer(3)])
            #expect(items.map(\.line) == [9, 9, 10])
        } else {
            Issue.record("list is not an array")
        }
        guard case .array(let points)? = root["points"]?.value, points.count == 2, case .table(let second) = points[1].value else {
            Issue.record("points is not an array of two tables")
            return
        }
        #expect(second["name"] == TOMLNode(.string("b"), line: 15))
        guard case .table(let extra)? = second["extra"]?.value else {
            Issue.record("extra not inside the second point")
            return
        }
        #expect(extra["n"] == TOMLNode(.integer(-5), line: 17))
    }

    @Test func nestedArraysOfTablesKeepEveryElement() throws {
        // Enterprises with meters, as a district's configuration nests them: each table is changed in place.
        let text = """
            [[e]]
            id = 1
            [[e.m]]
            x = 1
            [[e.m]]
            x = 2
            [e.m.extra]
            y = true
            [[e]]
            id = 2
            [[e.m]]
            x = 3
            """
        let root = try TOMLParser.parse(text)
        guard case .array(let enterprises)? = root["e"]?.value else {
            Issue.record("e is not an array")
            return
        }
        func table(_ node: TOMLNode) -> TOMLTable? { if case .table(let t) = node.value { t } else { nil } }
        func meters(_ enterprise: TOMLNode) -> [TOMLTable] {
            guard let t = table(enterprise), case .array(let m)? = t["m"]?.value else { return [] }
            return m.compactMap(table)
        }
        #expect(enterprises.map { table($0)?["id"]?.value } == [.integer(1), .integer(2)])
        #expect(meters(enterprises[0]).map { $0["x"]?.value } == [.integer(1), .integer(2)])
        #expect(meters(enterprises[0]).last?["extra"].flatMap(table)?["y"] == TOMLNode(.boolean(true), line: 8))
        #expect(meters(enterprises[1]).map { $0["x"]?.line } == [12])
    }

    @Test(arguments: [
        ("a = 1\na = 2", 2, "duplicate key 'a'"),
        ("[t]\nx=1\n[t]", 3, "table [t] is defined more than once"),
        ("a = hello", 1, "'hello' is not a valid TOML value (strings need quotes)"),
        ("a = \"open", 1, "unterminated string"),
        ("a = 1 b = 2", 1, "unexpected 'b' after value; expected end of line"),
        ("a = [1, 2", 1, "unterminated array"),
        ("a = 01", 1, "'01' is not a valid TOML value (strings need quotes)"),
        ("x = 1\n\n[x.y]", 3, "'x' is a integer, not a table"),
        ("a = [1, 2]\n[a.b]", 2, "'a' was written inline and cannot be extended"),
        ("a = 1\n[[a]]", 2, "'a' is already a integer, not an array of tables"),
    ])
    func reportsSyntaxErrorsWithTheirLine(text: String, line: Int, message: String) {
        #expect(throws: TOMLSyntaxError(line: line, message: message)) { try TOMLParser.parse(text) }
    }
}
