import EnergyModel
import Spreadsheet

/// The sheets of the exports, Chinese headers by default, units in the headers, numbers as numbers.
public enum ReportSheets {
    public static func district(_ report: DistrictReport, zh: Bool) -> [Sheet] {
        let columns =
            zh
            ? [
                Column("镇/园区", width: 18), Column("企业数", width: 8), Column("在线计量表", width: 11), Column("计量表总数", width: 11),
                Column("对标达标产品数", width: 15), Column("计入对标产品数", width: 15), Column("对标达标率", width: 11),
                Column("超限额企业", width: 30), Column("数据不足（计入未达标）", width: 36), Column("≥1000 tce 名单", width: 44),
                Column("综合能耗 (tce)", width: 16), Column("单位产品能耗同比", width: 16),
            ]
            : [
                Column("jurisdiction", width: 18), Column("enterprises", width: 11), Column("meters online", width: 13),
                Column("meters", width: 8), Column("products meeting the benchmark", width: 16),
                Column("products counted", width: 16), Column("compliance", width: 11), Column("over quota", width: 30),
                Column("no verdict (counted as not met)", width: 36), Column("≥1000 tce list", width: 44),
                Column("comprehensive consumption (tce)", width: 18), Column("unit consumption year on year", width: 16),
            ]
        let rows = (report.jurisdictions + [report.total]).map { line -> [Cell] in
            [
                .text(line.jurisdiction == "全区" && !zh ? "district" : line.jurisdiction), .count(line.enterprises),
                .count(line.metersOnline), .count(line.meters), .count(line.benchmarkMet), .count(line.benchmarkJudged),
                line.complianceRate.map(Cell.percent) ?? .empty,
                .text(line.overQuota.joined(separator: "、")), .text(line.insufficientData.joined(separator: "、")),
                .text(line.inspectionList.joined(separator: "、")), .number(line.comprehensiveTce),
                line.yearOnYear.map(Cell.percent) ?? .empty,
            ]
        }
        return [Sheet(name: (zh ? "区域报告 " : "district ") + report.period, columns: columns, rows: rows)]
    }

    public static func enterprise(_ report: EnterpriseReport, zh: Bool) -> [Sheet] {
        let energy = Sheet(
            name: zh ? "能源消费" : "energy",
            columns: zh
                ? [
                    Column("能源品种", width: 18), Column("用量", width: 16), Column("单位", width: 8), Column("折标煤 (kgce)", width: 18),
                    Column("其中估算（用量单位）", width: 20), Column("折标系数 (kgce/单位)", width: 20), Column("系数来源", width: 40),
                ]
                : [
                    Column("energy", width: 18), Column("amount", width: 16), Column("unit", width: 8),
                    Column("standard coal (kgce)", width: 18),
                    Column("estimated (in the amount's unit)", width: 20), Column("factor (kgce per unit)", width: 20),
                    Column("factor source", width: 40),
                ],
            rows: report.energy.map { line in
                [
                    .text(energyName(line, zh: zh)), .number(line.amount), .text(line.unit), line.kgce.map(Cell.number) ?? .empty,
                    .number(line.estimated), line.factor.map(Cell.precise) ?? .empty, line.factorSource.map(Cell.text) ?? .empty,
                ]
            } + [[.text(zh ? "综合能耗" : "comprehensive"), .empty, .empty, .number(report.comprehensiveKgce)]]
                + (report.tcePerOutputValue.map { perOutput in
                    [
                        [.text(zh ? "工业总产值（万元）" : "gross output value (10 000 yuan)"), .number(report.outputValue ?? 0)],
                        [.text(zh ? "单位产值综合能耗（tce/万元）" : "energy per output value (tce per 10 000 yuan)"), .precise(perOutput)],
                    ]
                } ?? []))
        let products = Sheet(
            name: zh ? "产品单耗" : "products",
            columns: zh
                ? [
                    Column("产品", width: 18), Column("标准", width: 16), Column("产量（单位列之分母）", width: 16),
                    Column("边界内能耗（单位列之分子）", width: 18),
                    Column("单位产品能耗", width: 14), Column("单位", width: 12), Column("一级", width: 8), Column("二级", width: 8),
                    Column("三级（限定值）", width: 14), Column("结论", width: 12), Column("数据完整率", width: 11),
                    Column("完整率不足 90% 的计量表", width: 26), Column("同比", width: 10), Column("示例限额", width: 10),
                ]
                : [
                    Column("product", width: 18), Column("standard", width: 16), Column("output (unit's denominator)", width: 16),
                    Column("energy (unit's numerator)", width: 18),
                    Column("unit consumption", width: 14), Column("unit", width: 12), Column("level 1", width: 8),
                    Column("level 2", width: 8), Column("level 3 (limit)", width: 14), Column("verdict", width: 16),
                    Column("completeness", width: 12), Column("meters below 90 %", width: 26), Column("year on year", width: 12),
                    Column("illustrative quota", width: 10),
                ],
            rows: report.products.map { p in
                [
                    .text(DomainNames.product(p.product, zh: zh)), .text(p.standard), .number(p.output), .number(p.energy),
                    p.unitConsumption.map(Cell.number) ?? .empty,
                    .text(p.unit), .number(p.levels[0]), .number(p.levels[1]), .number(p.levels[2]),
                    .text(zh ? p.verdictChinese : p.verdict.name),
                    .percent(p.completeness), .text(p.incompleteMeters.joined(separator: "、")), p.yearOnYear.map(Cell.percent) ?? .empty,
                    .text(p.illustrative ? (zh ? "是" : "yes") : ""),
                ]
            })
        let alerts = Sheet(
            name: zh ? "未解除告警" : "open alerts",
            columns: zh
                ? [
                    Column("发生时间", width: 28), Column("类别", width: 14), Column("级别", width: 10), Column("期间", width: 24),
                    Column("消息", width: 100),
                ]
                : [
                    Column("raised", width: 28), Column("kind", width: 18), Column("severity", width: 10), Column("period", width: 24),
                    Column("message", width: 100),
                ],
            rows: report.openAlerts.map { alert in
                [
                    .text(alert.time), .text(zh ? alert.kind.chinese : alert.kind.rawValue),
                    .text(zh ? alert.severity.chinese : alert.severity.rawValue),
                    .text(alert.period),
                    .text(alert.message),
                ]
            })
        return [energy, products, alerts]
    }

    public static func consumption(_ lines: [ConsumptionLine], totals: [ConsumptionTotal], enterprise: String, zh: Bool) -> [Sheet] {
        let columns =
            zh
            ? [
                Column("期间", width: 14), Column("能源品种", width: 18), Column("用量", width: 16), Column("单位", width: 8),
                Column("折标煤 (kgce)", width: 18), Column("其中估算（用量单位）", width: 20), Column("数据完整率", width: 11),
            ]
            : [
                Column("period", width: 14), Column("energy", width: 18), Column("amount", width: 16), Column("unit", width: 8),
                Column("standard coal (kgce)", width: 18), Column("estimated (in the amount's unit)", width: 20),
                Column("completeness", width: 12),
            ]
        let rows =
            lines.map { line -> [Cell] in
                [
                    .text(line.period), .text(energyName(line, zh: zh)), .number(line.amount), .text(line.unit),
                    line.kgce.map(Cell.number) ?? .empty, .number(line.estimated), .percent(line.completeness),
                ]
            }
            + totals.map { total -> [Cell] in
                [
                    .text(total.period), .text(zh ? "综合能耗" : "comprehensive"), .number(total.kgce), .text("kgce"), .number(total.kgce),
                    .number(total.estimatedKgce), .percent(total.completeness),
                ]
            }
        return [Sheet(name: (zh ? "能耗 " : "consumption ") + enterprise, columns: columns, rows: rows)]
    }
}

/// An energy line's name in a table: the energy type, its export, or the product counted.
public func energyName(_ line: ConsumptionLine, zh: Bool) -> String {
    let energy = EnergyType(rawValue: line.energy)
    switch (zh, line.quantity) {
    case (true, "production"): return "产量 \(DomainNames.product(line.product ?? "", zh: true))"
    case (false, "production"): return "production \(line.product ?? "")"
    case (true, "export"): return "外供\(energy?.chineseName ?? line.energy)"
    case (false, "export"): return "\(line.energy) exported"
    case (true, _): return (energy?.chineseName ?? line.energy) + (line.source == "entered" ? "（手工填报）" : "")
    case (false, _): return line.energy + (line.source == "entered" ? " (entered)" : "")
    }
}
