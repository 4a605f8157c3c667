import ArgumentParser
import EnergyModel
import EnergyReports
import EnergyStore
import Foundation
import Spreadsheet

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspection reports: one enterprise, or the district by town and park.",
        subcommands: [EnterpriseCommand.self, District.self])
}

/// Options every report shares.
struct ReportOptions: ParsableArguments {
    @Option(help: "Period: YYYY (year), YYYY-MM (month), YYYY-MM-DD (day) or FROM..TO (days, TO exclusive).")
    var period: String

    @Option(help: "table, csv, json or xlsx (an Excel workbook, with --output).")
    var format: ExportFormat = .table

    @Option(help: "The workbook to write, with --format xlsx.")
    var output: String?

    @Option(help: "zh (default) or en.")
    var lang: Language = .zh
}

func encodeJSON(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

struct EnterpriseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enterprise", abstract: "An enterprise's energy, products against their quotas, and open alerts.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: ReportOptions

    @Argument(help: "Enterprise id.")
    var id: String

    func run() async throws {
        let (path, configuration) = try store.resolveWithConfiguration(readOnly: true)
        let reports = InspectionReports(store: try await EnergyStore.open(path: path, readOnly: true), configuration: configuration)
        guard let period = ReportPeriod(options.period, calendar: reports.calendar) else {
            throw ValidationError(
                "--period \(options.period) is not a period: YYYY, YYYY-MM, YYYY-MM-DD or FROM..TO (dates), at most \(ReportPeriod.maximumDays) days"
            )
        }
        guard let report = try await reports.enterprise(id, period: period) else {
            throw ValidationError("no enterprise \(id) in the configuration")
        }
        let zh = options.lang == .zh
        if let output = try workbookPath(options.format, options.output) {
            try Workbook.write(ReportSheets.enterprise(report, zh: zh), to: output)
            return
        }
        switch options.format {
        case .json: print(try encodeJSON(report))
        case .xlsx: break
        case .csv:
            var table = TextTable(header: [
                "product", "standard", "output", "energy", "unit_consumption", "unit", "level1", "level2", "level3", "verdict",
                "completeness", "year_on_year",
            ])
            for p in report.products {
                table.rows.append([
                    p.product, p.standard, String(p.output), String(p.energy), p.unitConsumption.map { String($0) } ?? "", p.unit,
                    String(p.levels[0]), String(p.levels[1]), String(p.levels[2]), p.verdict.name, String(p.completeness),
                    p.yearOnYear.map { String($0) } ?? "",
                ])
            }
            print(table.csv(), terminator: "")
        case .table:
            print(
                zh
                    ? "\(report.name)（\(report.id)，\(report.jurisdiction)，\(report.industry)）  期间 \(report.period)"
                    : "\(report.name) (\(report.id), \(report.jurisdiction), \(report.industry))  period \(report.period)")
            var energy = TextTable(
                header: zh ? ["能源品种", "用量", "单位", "折标煤 kgce", "估算"] : ["energy", "amount", "unit", "kgce", "estimated"],
                rightAligned: [1, 3, 4])
            for line in report.energy {
                energy.rows.append([
                    energyName(line, zh: zh), fixed(line.amount), line.unit, line.kgce.map(fixed) ?? "-",
                    percent(line.amount > 0 ? line.estimated / line.amount : 0),
                ])
            }
            print(energy.render())
            print(
                zh
                    ? "综合能耗 \(fixed(report.comprehensiveKgce)) kgce（\(String(format: "%.3f", report.comprehensiveTce)) tce），其中估算 \(fixed(report.estimatedKgce)) kgce，数据完整率 \(percent(report.completeness))"
                    : "comprehensive consumption \(fixed(report.comprehensiveKgce)) kgce (\(String(format: "%.3f", report.comprehensiveTce)) tce), estimated \(fixed(report.estimatedKgce)) kgce, completeness \(percent(report.completeness))"
            )
            if let intensity = report.outputIntensity(zh: zh) { print(intensity) }
            print()
            var products = TextTable(
                header: zh
                    ? ["产品", "标准", "产量", "单位产品能耗", "单位", "一级/二级/三级", "结论", "完整率", "同比"]
                    : [
                        "product", "standard", "output", "unit consumption", "unit", "levels 1/2/3", "verdict", "completeness",
                        "year on year",
                    ],
                rightAligned: [2, 3, 7, 8])
            for p in report.products {
                products.rows.append([
                    DomainNames.product(p.product, zh: zh) + (p.illustrative ? (zh ? "（示例限额）" : " (illustrative quota)") : ""), p.standard,
                    fixed(p.output),
                    p.unitConsumption.map(fixed) ?? "-", p.unit, p.levels.map { String(format: "%g", $0) }.joined(separator: "/"),
                    (zh ? p.verdictChinese : p.verdict.name)
                        + (p.incompleteMeters.isEmpty
                            ? "" : (zh ? "（" : " (") + p.incompleteMeters.joined(separator: ", ") + (zh ? " 不足 90%）" : " below 90 %)")),
                    percent(p.completeness), optionalPercent(p.yearOnYear),
                ])
            }
            print(products.render())
            print(zh ? "未解除告警 \(report.openAlerts.count) 条" : "\(report.openAlerts.count) open alerts")
            for alert in report.openAlerts { print("  [\(zh ? alert.kind.chinese : alert.kind.rawValue)] \(alert.message)") }
        }
    }
}

struct District: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Per town and park: enterprises, meters online, 对标达标率 against 70 %, over-quota enterprises, the ≥ 1000 tce list, year-on-year change against 10 %."
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: ReportOptions

    func run() async throws {
        let (path, configuration) = try store.resolveWithConfiguration(readOnly: true)
        let reports = InspectionReports(store: try await EnergyStore.open(path: path, readOnly: true), configuration: configuration)
        guard let period = ReportPeriod(options.period, calendar: reports.calendar) else {
            throw ValidationError(
                "--period \(options.period) is not a period: YYYY, YYYY-MM, YYYY-MM-DD or FROM..TO (dates), at most \(ReportPeriod.maximumDays) days"
            )
        }
        let report = try await reports.district(period: period)
        let zh = options.lang == .zh
        if let output = try workbookPath(options.format, options.output) {
            try Workbook.write(ReportSheets.district(report, zh: zh), to: output)
            return
        }
        switch options.format {
        case .json: print(try encodeJSON(report))
        case .xlsx: break
        case .csv, .table:
            var table = TextTable(
                header: zh
                    ? ["镇/园区", "企业", "在线表/总表", "对标达标率", "超限额企业", "数据不足（计入未达标）", "≥1000 tce 名单", "综合能耗 tce", "单耗同比"]
                    : [
                        "jurisdiction", "enterprises", "meters online", "compliance", "over quota", "no verdict (counted as not met)",
                        "≥1000 tce list", "tce", "year on year",
                    ],
                rightAligned: [1, 3, 7, 8])
            for line in report.jurisdictions + [report.total] {
                table.rows.append([
                    line.jurisdiction == "全区" && !zh ? "district" : line.jurisdiction, String(line.enterprises),
                    "\(line.metersOnline)/\(line.meters)",
                    line.complianceRate.map { "\(percent($0)) (\(line.benchmarkMet)/\(line.benchmarkJudged))" } ?? "-",
                    line.overQuota.isEmpty ? "-" : line.overQuota.joined(separator: "、"),
                    line.insufficientData.isEmpty ? "-" : line.insufficientData.joined(separator: "、"),
                    line.inspectionList.isEmpty ? "-" : line.inspectionList.joined(separator: "、"),
                    String(format: "%.1f", line.comprehensiveTce), optionalPercent(line.yearOnYear),
                ])
            }
            if options.format == .csv {
                print(table.csv(), terminator: "")
                return
            }
            print(zh ? "宿城区重点用能单位能耗在线监测 区域报告  期间 \(report.period)" : "District energy monitoring report  period \(report.period)")
            print(table.render())
            for line in report.notes(zh: zh) { print(line) }
        }
    }
}

struct Alerts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Alerts, newest first.")

    @OptionGroup var store: StoreOptions

    @Flag(help: "Only alerts not cleared yet.")
    var open = false

    @Option(help: "Only alerts raised or cleared on or after this day (YYYY-MM-DD).")
    var since: String?

    @Option(help: "table, csv or json.")
    var format: OutputFormat = .table

    @Option(help: "zh (default) or en.")
    var lang: Language = .zh

    func run() async throws {
        let (path, configuration) = try store.resolveWithConfiguration(readOnly: true)
        var sinceMs = Int64.min
        if let since { sinceMs = try localDay(since, option: "--since", configuration.calendar) }
        let alerts = try await EnergyStore.open(path: path, readOnly: true).alerts.list(openOnly: open, sinceMs: sinceMs)
        if format == .json {
            struct Entry: Encodable {
                let raised: AlertRecord
                let cleared: AlertRecord?
            }
            print(try encodeJSON(alerts.map { Entry(raised: $0.raised, cleared: $0.cleared) }))
            return
        }
        let zh = lang == .zh
        var table = TextTable(
            header: zh
                ? ["发生时间", "解除时间", "类别", "级别", "企业", "对象", "期间", "消息"]
                : ["raised", "cleared", "kind", "severity", "enterprise", "subject", "period", "message"])
        for alert in alerts {
            table.rows.append([
                String(alert.raised.time.prefix(16)).replacingOccurrences(of: "T", with: " "),
                alert.cleared.map { String($0.time.prefix(16)).replacingOccurrences(of: "T", with: " ") } ?? (zh ? "未解除" : "open"),
                zh ? alert.raised.kind.chinese : alert.raised.kind.rawValue, alert.raised.severity.rawValue, alert.raised.enterprise.name,
                alert.raised.subject, alert.raised.period, (alert.cleared ?? alert.raised).message,
            ])
        }
        print(format == .csv ? table.csv() : table.render(), terminator: "")
        if format == .table { print(zh ? "共 \(alerts.count) 条" : "\(alerts.count) alerts") }
    }
}

struct Production: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Production figures entered by hand, for products without a production counter.", subcommands: [Add.self, Import.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record one day's output of a product.")
        @OptionGroup var store: StoreOptions
        @Option var enterprise: String
        @Option var product: String
        @Option(help: "The day (YYYY-MM-DD).") var date: String
        @Option(help: "Qualified output, in the quota's product unit.") var quantity: Double

        func run() async throws {
            let (path, configuration) = try store.resolveWithConfiguration()
            try await addProduction(
                path: path, configuration: configuration, rows: [(enterprise, product, date, quantity)], source: "energyctl production add")
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a CSV file: enterprise,product,date,quantity (a header line is skipped).")
        @OptionGroup var store: StoreOptions
        @Argument(help: "CSV file.") var file: String

        func run() async throws {
            let (path, configuration) = try store.resolveWithConfiguration()
            var rows: [(String, String, String, Double)] = []
            for (line, fields) in try csvLines(file) {
                guard fields.count == 4, let quantity = Double(fields[3]) else {
                    throw ValidationError("\(file):\(line): expected enterprise,product,date,quantity")
                }
                rows.append((fields[0], fields[1], fields[2], quantity))
            }
            try await addProduction(
                path: path, configuration: configuration, rows: rows, source: "import \((file as NSString).lastPathComponent)")
        }
    }
}

/// The fields of each line of a CSV file with its line number, without a header line (one whose first field is
/// `header`).
func csvLines(_ file: String, header: String = "enterprise") throws -> [(line: Int, fields: [String])] {
    let text = try String(contentsOfFile: file, encoding: .utf8)
    return text.split(whereSeparator: \.isNewline).enumerated().compactMap { number, line in
        let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return number == 0 && fields.first == header ? nil : (number + 1, fields)
    }
}

func addProduction(path: String, configuration: EnergyConfiguration, rows: [(String, String, String, Double)], source: String) async throws
{
    // Every row is checked before the first is written: a bad line leaves the store as it was.
    var figures: [ProductionFigure] = []
    for (number, row) in rows.enumerated() {
        do {
            figures.append(try ProductionFigure.checked(enterprise: row.0, product: row.1, date: row.2, quantity: row.3, in: configuration))
        } catch {
            throw ValidationError(rows.count == 1 ? error.description : "row \(number + 1): \(error.description)")
        }
    }
    let store = try await EnergyStore.open(path: path)
    let now = SystemWallClock().nowMs()
    for figure in figures {
        try await store.production.set(
            enterprise: figure.enterprise, product: figure.product, dayMs: figure.dayMs, quantity: figure.quantity, source: source,
            enteredMs: now)
    }
    print("recorded \(rows.count) production figure\(rows.count == 1 ? "" : "s")")
}
