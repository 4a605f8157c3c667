import ConfigurationFiles
import EnergyModel
import TestSupport
import Testing

/// Inspections as the model checks them, and the rectification-overdue rule, case by case.
@Suite struct RectificationRuleTests {
    static let configuration = try! ConfigurationLoader.load(path: shippedConfigPath)

    func record(_ id: Int64, deadline: String?, status: Inspection.Status) -> InspectionRecord {
        InspectionRecord(
            id: id,
            inspection: Inspection(
                enterprise: "E02", date: "2026-02-03", inspectors: ["王明"], kind: .onSite, legalBasis: "《节约能源法》第十六条",
                findings: "超限额", rectification: deadline == nil ? nil : "更换燃烧器", deadline: deadline, alerts: []),
            status: status, answer: nil, closingNote: nil, recordedBy: "inspector", recordedMs: 0)
    }

    @Test(arguments: [
        // deadline, status, today → active?
        ("2026-03-31", Inspection.Status.open, "2026-03-31", false),  // the deadline day itself is still in time
        ("2026-03-31", .open, "2026-04-01", true),
        ("2026-03-31", .answered, "2026-04-01", true),  // an answer is not a closing
        ("2026-03-31", .closed, "2026-04-01", false),
    ])
    func aRectificationIsOverdueAfterItsDeadlineUntilClosed(deadline: String, status: Inspection.Status, today: String, active: Bool) throws
    {
        let findings = RectificationRule.findings(
            [record(7, deadline: deadline, status: status)], today: today, configuration: Self.configuration)
        let finding = try #require(findings.first)
        #expect(findings.count == 1 && finding.key == "rectification_overdue/7" && finding.kind == .rectificationOverdue)
        #expect(finding.condition == (active ? .active : .ended))
        #expect(finding.message.contains(active ? "已于 2026-03-31 到期，尚未办结" : "已办结") || !active)
    }

    @Test func anInspectionWithoutARectificationHasNothingToBeOverdue() {
        #expect(
            RectificationRule.findings([record(8, deadline: nil, status: .open)], today: "2027-01-01", configuration: Self.configuration)
                .isEmpty)
    }

    @Test func theStepsOfEachRole() throws {
        #expect(try InspectionStep.answer.applied(by: .enterprise, to: .open, text: "已整改") == .answered)
        #expect(try InspectionStep.close.applied(by: .inspector, to: .answered, text: "复查合格") == .closed)
        #expect(try InspectionStep.close.applied(by: .admin, to: .open, text: "书面核实") == .closed)
        #expect(throws: AlertAction.Refusal.self) { try InspectionStep.answer.applied(by: .jurisdiction, to: .open, text: "代答") }
        #expect(throws: AlertAction.Refusal.self) { try InspectionStep.close.applied(by: .enterprise, to: .open, text: "自行办结") }
        #expect(throws: AlertAction.Refusal.self) { try InspectionStep.answer.applied(by: .enterprise, to: .closed, text: "晚了") }
        #expect(throws: AlertAction.Refusal.self) { try InspectionStep.close.applied(by: .inspector, to: .open, text: " ") }
    }
}
