import EnergyModel
import EnergyReports
import EnergyStore
import Foundation
import TestSupport
import Testing

@testable import WebConsole

/// Energy not metered online, entered by hand through the API on the demo district's January: only the enterprise
/// itself writes, every bad entry is refused with nothing written, and what is written counts in its figures.
@Suite(.serialized) struct EnergyEntryTests {
    @Test func anEnterpriseEntersItsDieselAndOutputValueAndTheyCountInItsFigures() async throws {
        let site = try await ConsoleAccessTests.Site()
        defer { site.directory.remove() }
        let e02 = try await site.login("e02")
        let longhe = try await site.login("longhe")
        let inspector = try await site.login("inspector")
        func post(_ session: ConsoleAccessTests.Session, _ enterprise: String, _ json: String) async throws -> ConsoleAccessTests.Answer {
            try await site.send(
                "POST", "/api/v1/enterprises/\(enterprise)/entries",
                headers: session.headers.merging(["X-CSRF-Token": session.csrf]) { $1 },
                json: json)
        }
        func january() async throws -> EnterpriseReport {
            let served = try await site.send("GET", "/api/v1/enterprises/E02?period=2026-01", headers: inspector.headers)
            return try JSONDecoder().decode(EnterpriseReport.self, from: Data(served.body.utf8))
        }
        let before = try await january()
        #expect(before.comprehensiveKgce > 0, "the metered January is there to add to")

        // Refused, and nothing written: a town, an inspector, another enterprise, and every kind of bad figure.
        let diesel = #"{"month":"2026-01","energy":"diesel","unit":"t","consumption":12.5}"#
        #expect(try await post(longhe, "E02", diesel).status == 403)
        #expect(try await post(inspector, "E02", diesel).status == 403)
        #expect(try await post(e02, "E01", diesel).status == 404)
        for (bad, says) in [
            (#"{"month":"2026-01","energy":"kerosene","unit":"t","consumption":1}"#, "is not one of"),
            (#"{"month":"2026-01","energy":"production","unit":"t","consumption":1}"#, "is not one of"),
            (#"{"month":"2099-01","energy":"diesel","unit":"t","consumption":1}"#, "has not begun"),
            (#"{"month":"2026-13","energy":"diesel","unit":"t","consumption":1}"#, "is not YYYY-MM"),
            (#"{"month":"2026-01","energy":"diesel","unit":"kWh","consumption":1}"#, "is not a unit of diesel"),
            (#"{"month":"2026-01","energy":"diesel","unit":"t","consumption":-1}"#, "must be a number ≥ 0, up to 10^12"),
            (#"{"month":"2026-01","energy":"raw_coal","unit":"t","purchases":10,"openingStock":-1}"#, "must be a number ≥ 0, up to 10^12"),
            (#"{"month":"2026-01","energy":"raw_coal","unit":"t","purchases":10,"closingStock":11}"#, "closing stock is more"),
            (#"{"month":"2026-01","energy":"raw_coal","unit":"t","consumption":1,"purchases":1}"#, "not both"),
            (#"{"month":"2026-01","energy":"raw_coal","unit":"t"}"#, "give the amount consumed"),
            (#"{"month":"2026-01","energy":"diesel"}"#, "send JSON"),
        ] {
            let answer = try await post(e02, "E02", bad)
            #expect(answer.status == 400 && answer.body.contains(says), "\(bad): \(answer.status) \(answer.body)")
        }
        #expect(try await site.store.entries.list(enterprise: nil).isEmpty)
        #expect(try await january() == before)

        // Written by E02: diesel as consumed, coal as purchases and stocks.
        #expect(try await post(e02, "E02", diesel).status == 200)
        let coal = #"{"month":"2026-01","energy":"raw_coal","unit":"t","purchases":500,"openingStock":120,"closingStock":80}"#
        let recorded = try await post(e02, "E02", coal)
        #expect(recorded.status == 200 && recorded.body.contains(#""consumption":540"#), "\(recorded.body)")
        let listed = try await site.send("GET", "/api/v1/enterprises/E02/entries?period=2026-01", headers: longhe.headers)
        #expect(listed.status == 200 && listed.body.contains(#""source":"web:e02""#) && listed.body.contains(#""energy":"diesel""#))
        #expect(try await site.send("GET", "/api/v1/enterprises/E01/entries?period=2026-01", headers: longhe.headers).status == 404)

        // GB/T 2589-2020: diesel 1.4571 kgce/kg, raw coal 0.7143 kgce/kg.
        // 12.5 t × 1000 × 1.4571 = 18 213.75 kgce; (500 + 120 − 80) t = 540 t × 1000 × 0.7143 = 385 722 kgce.
        // The console serves its cached figures once more and recomputes them behind (FigureCache): await the new ones.
        func figures(reaching kgce: Double) async throws -> EnterpriseReport {
            var latest = try await january()
            _ = await eventually(timeout: .seconds(30)) {
                latest = (try? await january()) ?? latest
                return abs(latest.comprehensiveKgce - kgce) < 1e-6
            }
            return latest
        }
        let after = try await figures(reaching: before.comprehensiveKgce + 18_213.75 + 385_722)
        #expect(abs(after.comprehensiveKgce - before.comprehensiveKgce - (18_213.75 + 385_722)) < 1e-6)
        let entered = after.energy.filter { $0.source == "entered" }
        #expect(entered.map(\.energy).sorted() == ["diesel", "raw_coal"])
        #expect(abs((entered.first { $0.energy == "diesel" }?.kgce ?? 0) - 18_213.75) < 1e-6)
        // A replacement replaces: 10 t of diesel instead of 12.5 t takes 2.5 t × 1457.1 = 3 642.75 kgce off.
        #expect(try await post(e02, "E02", #"{"month":"2026-01","energy":"diesel","unit":"t","consumption":10}"#).status == 200)
        let replaced = try await figures(reaching: after.comprehensiveKgce - 3_642.75)
        #expect(abs(replaced.comprehensiveKgce - after.comprehensiveKgce + 3_642.75) < 1e-6)
        // Its days add up to the month to the millionth: 31 days of 10 000 kg.
        let days = try await site.store.rollups(enterprise: "E02", resolution: .day, fromMs: ConsoleAccessTests.january, toMs: .max)
            .filter { $0.series.kind == .entered && $0.series.energy == .diesel }
        #expect(days.count == 31 && days.map(\.amount).reduce(0, +) == 10_000_000_000)
        // The enterprise page's form: without the session's CSRF token refused, with it recorded; a word where a number
        // goes refused; the page lists what was entered, and only E02 gets the form.
        let lpg = ["month": "2026-01", "energy": "lpg", "unit": "kg", "consumption": "800"]
        #expect(try await site.send("POST", "/enterprises/E02/entries", headers: e02.headers, form: lpg).status == 403)
        var wordy = lpg
        wordy["csrf"] = e02.csrf
        wordy["consumption"] = "eight hundred"
        #expect(try await site.send("POST", "/enterprises/E02/entries", headers: e02.headers, form: wordy).status == 400)
        #expect(try await site.store.entries.list(enterprise: "E02").count == 2)
        var withToken = lpg
        withToken["csrf"] = e02.csrf
        #expect(try await site.send("POST", "/enterprises/E02/entries", headers: e02.headers, form: withToken).status == 303)
        #expect(try await site.store.entries.list(enterprise: "E02").map(\.energy) == [.diesel, .lpg, .rawCoal])
        let page = try await site.send("GET", "/enterprises/E02?period=2026-01-05", headers: e02.headers).body
        #expect(page.contains("id=\"energy-entries\"") && page.contains("液化石油气") && page.contains("id=\"entry-form\""))
        #expect(
            !(try await site.send("GET", "/enterprises/E02?period=2026-01", headers: inspector.headers).body.contains("id=\"entry-form\"")))
        // Output value: only E02 enters it; bad figures are refused; the page then shows energy per 万元.
        func postValue(_ session: ConsoleAccessTests.Session, _ json: String) async throws -> ConsoleAccessTests.Answer {
            try await site.send(
                "POST", "/api/v1/enterprises/E02/output-value", headers: session.headers.merging(["X-CSRF-Token": session.csrf]) { $1 },
                json: json)
        }
        let value = #"{"month":"2026-01","grossOutput":2350,"valueAdded":600}"#
        #expect(try await postValue(longhe, value).status == 403)
        #expect(try await postValue(e02, #"{"month":"2026-01","grossOutput":100,"valueAdded":101}"#).status == 400)
        #expect(try await postValue(e02, #"{"month":"2026-01","grossOutput":0}"#).status == 400)
        #expect(try await site.store.outputValues.list(enterprise: nil).isEmpty)
        #expect(try await postValue(e02, value).status == 200)
        let valued = try await site.send("GET", "/api/v1/enterprises/E02/output-value?period=2026-01", headers: longhe.headers)
        #expect(valued.status == 200 && valued.body.contains(#""grossOutput":2350"#))
        var withValue = try await january()
        _ = await eventually(timeout: .seconds(30)) {
            withValue = (try? await january()) ?? withValue
            return withValue.outputValue != nil
        }
        #expect(withValue.outputValue == 2350 && withValue.valueAdded == 600)
        #expect(abs((withValue.tcePerOutputValue ?? 0) - withValue.comprehensiveTce / 2350) < 1e-12)
        let valuedPage = try await site.send("GET", "/enterprises/E02?period=2026-01", headers: inspector.headers).body
        #expect(valuedPage.contains("id=\"output-intensity\"") && valuedPage.contains("工业总产值 2350.00 万元"))
        // The page's output-value form replaces the month's figure; a word where the value goes is refused.
        let byForm = ["month": "2026-01", "grossOutput": "2400", "valueAdded": "", "csrf": e02.csrf]
        var wordyValue = byForm
        wordyValue["grossOutput"] = "lots"
        #expect(try await site.send("POST", "/enterprises/E02/output-value", headers: e02.headers, form: wordyValue).status == 400)
        #expect(try await site.send("POST", "/enterprises/E02/output-value", headers: e02.headers, form: byForm).status == 303)
        #expect(try await site.store.outputValues.list(enterprise: "E02").map(\.grossOutput) == [2400])
        let formPage = try await site.send("GET", "/enterprises/E02?period=2026-01", headers: e02.headers).body
        #expect(formPage.contains("id=\"output-value-form\"") && formPage.contains("2400.00"))
        let actions = try await site.store.accounts.auditLog().map { "\($0.account) \($0.action)" }
        #expect(actions.filter { $0 == "e02 energy-entry" }.count == 4 && actions.filter { $0 == "e02 output-value" }.count == 2)
    }
}
