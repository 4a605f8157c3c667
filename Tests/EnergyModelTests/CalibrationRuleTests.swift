import EnergyModel
import Testing

/// The meter ledger's lines are checked before anything is written, and calibration raises a notice 30 days before
/// the due date and a warning once it is past.
struct CalibrationRuleTests {
    let configuration = loadOnValidBase("").0!

    func entry(_ meter: String, due: String, status: LedgerEntry.Status = .inService) -> LedgerEntry {
        LedgerEntry(
            meter: meter, maker: "正泰", model: "DTSU666", accuracyClass: "0.5S", ctRatio: 20, ptRatio: nil, installed: "2024-03-01",
            lastCalibrated: "2025-03-01", nextDue: due, certificate: "JD-0001", status: status)
    }

    @Test func aNoticeFromThirtyDaysBeforeAndAWarningOnceOverdue() throws {
        let meter = try #require(configuration.meters.first?.1.id)
        // (next due, judged on) → which of the two alerts is active.
        for (due, today, notice, warning) in [
            ("2026-03-01", "2026-01-29", false, false),  // 31 days left (2 of January, 28 of February, 1 of March): nothing yet
            ("2026-03-01", "2026-01-30", true, false),  // 30 days left
            ("2026-03-01", "2026-02-28", true, false),  // the day before
            ("2026-03-01", "2026-03-01", false, true),  // due today: overdue from today
            ("2026-03-01", "2026-06-01", false, true),
        ] {
            let findings = CalibrationRule.findings([entry(meter, due: due)], today: today, configuration: configuration)
            #expect(findings.map(\.key) == ["calibration_due/\(meter)", "calibration_overdue/\(meter)"])
            #expect(findings.map { $0.condition == .active } == [notice, warning], "\(due) judged on \(today)")
            #expect(findings.map(\.severity) == [.notice, .warning])
        }
        #expect(
            CalibrationRule.findings([entry(meter, due: "2026-01-01", status: .spare)], today: "2026-06-01", configuration: configuration)
                .isEmpty)
        #expect(
            CalibrationRule.findings([entry("no-such-meter", due: "2026-01-01")], today: "2026-06-01", configuration: configuration).isEmpty
        )
    }

    @Test func aLineIsCheckedBeforeItIsWritten() throws {
        let meter = try #require(configuration.meters.first?.1.id)
        func check(
            _ meter: String, ct: Double? = 20, last: String? = "2025-03-01", due: String = "2026-03-01", status: String = "in_service"
        )
            -> String?
        {
            do {
                _ = try LedgerEntry.checked(
                    meter: meter, maker: "正泰", model: "DTSU666", accuracyClass: "0.5S", ctRatio: ct, ptRatio: nil, installed: "2024-03-01",
                    lastCalibrated: last, nextDue: due, certificate: "JD-1", status: status, in: configuration)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(check(meter) == nil)
        #expect(check(meter, last: nil) == nil)
        #expect(check("E99-power") == "no meter E99-power")
        #expect(check(meter, due: "2025-02-01") == "next due 2025-02-01 is not after the last calibration 2025-03-01")
        #expect(check(meter, due: "2026-02-30")?.hasPrefix("next due 2026-02-30 is not a date") == true)
        #expect(check(meter, ct: 0.5) == "CT ratio must be a number from 1 to 10^6")
        #expect(check(meter, status: "broken")?.hasPrefix("status broken is not one of in_service") == true)
    }
}
