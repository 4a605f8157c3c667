import Foundation
import TestSupport
import Testing

@testable import ConfigurationFiles
@testable import EnergyModel

/// Hostile and random inputs to the TOML parser and the date parser: a bounded error, never a crash, and time
/// linear in the input. Seeded generators: the same inputs on every run.
@Suite struct ParserRobustnessTests {
    @Test func deepNestingIsAnErrorWithItsLineNotACrash() {
        for depth in [33, 1000, 100_000] {
            let text = "[daemon]\nx = " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n"
            #expect(throws: TOMLSyntaxError(line: 2, message: "arrays and inline tables nested more than 32 deep")) {
                try TOMLParser.parse(text)
            }
            let inline = "x = " + String(repeating: "{ a = ", count: depth) + "1" + String(repeating: " }", count: depth)
            #expect(throws: TOMLSyntaxError.self) { try TOMLParser.parse(inline) }
        }
        // Nesting within the limit still parses.
        let fine = "x = " + String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(throws: Never.self) { try TOMLParser.parse(fine) }
    }

    @Test func aHeaderOfManyPartsIsRefusedAtOnce() {
        let parts = Array(repeating: "a", count: 100_000).joined(separator: ".")
        let started = ContinuousClock.now
        #expect(throws: TOMLSyntaxError(line: 1, message: "key has more than 32 dotted parts")) { try TOMLParser.parse("[\(parts)]\n") }
        #expect(throws: TOMLSyntaxError.self) { try TOMLParser.parse("\(parts) = 1\n") }
        // Not a timing test of the machine: a quadratic parser needs minutes here, a linear one microseconds.
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test(arguments: 0..<4)
    func mutatedConfigurationsParseOrFailWithALineInTheFile(seed: UInt64) throws {
        let shipped = try String(contentsOfFile: shippedConfigPath, encoding: .utf8)
        let lines = shipped.split(separator: "\n", omittingEmptySubsequences: false).count
        var random = SplitMix(seed: 1000 + seed)
        let pieces = ["[", "]", "{", "}", "\"", "'", "=", ".", ",", "\n", "#", "\\", "[[", "]]", "0x", "1e400", "\u{0}", "é", "\"\"\""]
        for _ in 0..<100 {
            var bytes = Array(shipped.utf8)
            for _ in 0..<Int(1 + random.next() % 6) {
                let at = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 3 {
                case 0: bytes.insert(contentsOf: Array(pieces[Int(random.next() % UInt64(pieces.count))].utf8), at: at)
                case 1: bytes.remove(at: at)
                default: bytes.insert(contentsOf: Array(String(repeating: "[", count: Int(random.next() % 5000)).utf8), at: at)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                _ = try TOMLParser.parse(text)
            } catch {
                #expect(error.line >= 1 && error.line <= lines + 10, "line \(error.line): \(error.message)")
                #expect(!error.message.isEmpty)
            }
            // The whole loader path too: every error is one line, FILE:LINE: key: message.
            do {
                _ = try ConfigurationLoader.parse(main: ConfigSource(path: "fuzz.toml", text: text))
            } catch {
                for line in error.description.split(separator: "\n") { #expect(line.hasPrefix("fuzz.toml:"), "\(line)") }
            }
        }
    }

    @Test func anErrorLineStaysOneLineWhateverTheKeyHolds() {
        let text = "[daemon]\n\"bad\\nkey\" = 1\n\"bell\\u0007\" = 2\n"
        do {
            _ = try ConfigurationLoader.parse(main: ConfigSource(path: "x.toml", text: text))
            Issue.record("accepted unknown keys")
        } catch {
            let lines = error.description.split(separator: "\n")
            #expect(lines.count == 2)
            #expect(lines.first == "x.toml:2: daemon.bad\\nkey: unknown key", "\(error.description)")
            #expect(lines.last?.contains("bell\\u{7}") == true)
        }
    }

    @Test func theDateParserTakesOnlyWellFormedDatesAndRoundTrips() {
        var random = SplitMix(seed: 42)
        let alphabet = Array("0123456789-:T+Z. ")
        var accepted = 0
        for _ in 0..<20_000 {
            let length = Int(random.next() % 30)
            var text = String((0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
            if random.next() % 2 == 0 { text = "2026-0\(random.next() % 10)-1\(random.next() % 10)" + text.prefix(Int(random.next() % 12)) }
            guard let ms = ISO8601Time.parseMs(text) else { continue }
            accepted += 1
            #expect(ISO8601Time.parseMs(ISO8601Time.format(ms: ms)) == ms, "\(text)")
        }
        #expect(accepted > 100, "the generator reaches valid dates too")
        for bad in [
            "", "T", "2026-01-01T", "2026-01-01TZ", "2026-13-01", "2026-02-30", "2026-1-01", "0000-01-01", "2026-01-01T24:00",
            "2026-01-01T10:00+15:00", "2026-01-01T10:00:00.", "2026-01-01 junk", "１２３４-01-01",
        ] {
            #expect(ISO8601Time.parseMs(bad) == nil, "\(bad)")
        }
        #expect(ISO8601Time.parseMs("2026-01-01T00:00:00+08:00") == 1_767_196_800_000)
        #expect(ISO8601Time.parseMs("2026-01-01T00:00:00.5Z") == 1_767_225_600_500)
    }
}
