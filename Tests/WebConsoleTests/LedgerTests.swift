import EnergyModel
import EnergyStore
import Foundation
import TestSupport
import Testing

@testable import WebConsole

/// The meter ledger through the API: each account sees the lines of the meters of the enterprises it sees.
@Suite(.serialized) struct LedgerTests {
    @Test func eachAccountSeesTheLedgerOfItsOwnMeters() async throws {
        let site = try await ConsoleAccessTests.Site()
        defer { site.directory.remove() }
        let lines = ["E02-coal", "E01-main-power"].map {
            LedgerEntry(
                meter: $0, maker: "正泰", model: "DTSU666", accuracyClass: "0.5S", ctRatio: 200, ptRatio: nil, installed: "2023-01-10",
                lastCalibrated: "2025-01-20", nextDue: "2027-01-20", certificate: "JD-\($0)", status: .inService)
        }
        try await site.store.ledger.record(lines, source: "test", atMs: 0)
        func meters(_ account: String) async throws -> [String] {
            let session = try await site.login(account)
            let answer = try await site.send("GET", "/api/v1/ledger", headers: session.headers)
            let ledger = (try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: [[String: Any]]])?["ledger"] ?? []
            return ledger.compactMap { $0["meter"] as? String }
        }
        #expect(try await meters("inspector") == ["E01-main-power", "E02-coal"])
        #expect(try await meters("longhe") == ["E02-coal"])
        #expect(try await meters("e02") == ["E02-coal"])
        #expect(try await site.send("GET", "/api/v1/ledger").status == 401)
    }
}
