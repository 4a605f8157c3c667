import Foundation
import Testing

@testable import EnergyModel

/// Evaluations against hand-computed cases from the standards' tables.
@Suite struct QuotaTests {
    let clinker = QuotaStandard(
        id: "gb16780_clinker", standard: "GB 16780-2021", title: "水泥熟料单位产品综合能耗", product: "clinker", basis: .comprehensive,
        unit: "kgce/t", levels: [100, 107, 117], corrections: ["altitude"], source: "test")
    let pvGlass = QuotaStandard(
        id: "pv", standard: "GB 21340-2019", title: "光伏压延玻璃", product: "pv_rolled_glass", basis: .comprehensive, unit: "kgce/t",
        levels: [260, 260, 370], source: "test")
    let tile = QuotaStandard(
        id: "tile", standard: "GB 21252-2023", title: "干压陶瓷砖", product: "dry_pressed_tile", basis: .comprehensive, unit: "kgce/m2",
        levels: [3.4, 3.7, 4.6], source: "test")

    @Test(arguments: [
        // 10 000 t of clinker from 1 000 000 kgce: 100 kgce/t, exactly level 1.
        (1_000_000.0, 10_000.0, QuotaVerdict.level(1)),
        (1_070_000.0, 10_000.0, .level(2)),
        (1_100_000.0, 10_000.0, .level(3)),
        (1_170_000.0, 10_000.0, .level(3)),  // the limit itself is met
        (1_170_100.0, 10_000.0, .overLimit),
        (1_250_000.0, 10_000.0, .overLimit),  // the demo's E02: 125 kgce/t
    ])
    func clinkerLevels(energy: Double, output: Double, verdict: QuotaVerdict) {
        let evaluation = QuotaEvaluation(energy: energy, output: output, completeness: 0.95, quota: clinker)
        #expect(evaluation.verdict == verdict)
        #expect(evaluation.unitConsumption == energy / output)
    }

    @Test func correctionScalesTheLevels() {
        // At altitude the levels are 5 % higher: 120 kgce/t is within 117 × 1.05 = 122.85.
        let corrected = QuotaEvaluation(energy: 1_200_000, output: 10_000, completeness: 1, quota: clinker, correctionFactor: 1.05)
        #expect(corrected.verdict == .level(3))
        #expect(zip(corrected.levels, [105, 112.35, 122.85]).allSatisfy { abs($0 - $1) < 1e-9 })
        let uncorrected = QuotaEvaluation(energy: 1_200_000, output: 10_000, completeness: 1, quota: clinker)
        #expect(uncorrected.verdict == .overLimit)
    }

    @Test func equalLevelsAndSmallUnits() {
        #expect(QuotaEvaluation(energy: 255 * 40, output: 40, completeness: 1, quota: pvGlass).verdict == .level(1))
        #expect(QuotaEvaluation(energy: 300 * 40, output: 40, completeness: 1, quota: pvGlass).verdict == .level(3))
        // 36 000 kgce for 10 000 m² of tile: 3.6 kgce/m², level 2.
        #expect(QuotaEvaluation(energy: 36_000, output: 10_000, completeness: 1, quota: tile).verdict == .level(2))
    }

    @Test func lowCompletenessOrNoOutputGivesNoFigureAsFact() {
        let thin = QuotaEvaluation(energy: 1_250_000, output: 10_000, completeness: 0.89, quota: clinker)
        #expect(thin.verdict == .insufficientData)
        #expect(thin.verdict.chinese == "数据不足")
        #expect(QuotaEvaluation(energy: 1000, output: 0, completeness: 1, quota: clinker).verdict == .noProduction)
        #expect(QuotaEvaluation(energy: 1_250_000, output: 10_000, completeness: 0.9, quota: clinker).verdict == .overLimit)
    }

    func finding(_ key: String, _ condition: AlertCondition) -> AlertFinding {
        AlertFinding(
            key: key, kind: .quotaExceeded, severity: .critical, enterprise: AlertEnterprise(id: "E", name: "企业", jurisdiction: "镇"),
            subject: "clinker", period: "2026-01", message: "m", condition: condition)
    }

    @Test func alertsAreRaisedOnceAndClearedOnceWithHysteresis() {
        var open: Set<String> = []
        var log: [String] = []
        // Above the limit, hovering in the band, above again, clearly below, in the band, below again.
        for condition in [AlertCondition.active, .undecided, .active, .ended, .undecided, .ended] {
            let (raise, clear) = AlertTransitions.decide([finding("q", condition)], open: open)
            for item in raise {
                open.insert(item.key)
                log.append("raise")
            }
            for item in clear {
                open.remove(item.key)
                log.append("clear")
            }
        }
        #expect(log == ["raise", "clear"])
    }

    @Test func alertRecordsCarryEveryFieldEvenWhenEmpty() throws {
        let record = AlertRecord(finding("q", .active), state: .raised, time: "2026-02-01T00:30:00+08:00")
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(record)) as! [String: Any]
        let fields = [
            "time", "kind", "severity", "state", "key", "enterprise", "subject", "period", "measured", "limit", "level", "standard",
            "completeness", "evidence", "message",
        ]
        #expect(Set(object.keys) == Set(fields))
        #expect(object["measured"] is NSNull)
        #expect(try JSONDecoder().decode(AlertRecord.self, from: JSONEncoder().encode(record)) == record)
    }

    @Test func verdictsTravelAsTheirMachineNames() throws {
        let verdicts: [QuotaVerdict] = [.level(1), .level(2), .level(3), .overLimit, .insufficientData, .noProduction]
        let text = String(decoding: try JSONEncoder().encode(verdicts), as: UTF8.self)
        #expect(text == #"["level-1","level-2","level-3","over-limit","insufficient-data","no-production"]"#)
        #expect(try JSONDecoder().decode([QuotaVerdict].self, from: Data(text.utf8)) == verdicts)
        for name in ["level-0", "level-4", "level-", "Level-1", ""] { #expect(QuotaVerdict(name: name) == nil, "\(name)") }
        #expect(QuotaVerdict.level(2).meets(level: 2) && !QuotaVerdict.level(3).meets(level: 2) && !QuotaVerdict.overLimit.meets(level: 3))
    }
}
