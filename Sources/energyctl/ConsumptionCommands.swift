import ArgumentParser
import EnergyModel
import EnergyReports
import EnergyStore
import Foundation
import Spreadsheet

/// Language of human-facing text.
enum Language: String, ExpressibleByArgument, CaseIterable {
    case zh, en
}

/// A period given as two dates (local midnights) on the command line.
struct PeriodOptions: ParsableArguments {
    @Option(help: "First day (YYYY-MM-DD, local time).")
    var from: String

    @Option(help: "Day after the last (YYYY-MM-DD), exclusive.")
    var to: String

    func resolve(_ calendar: CalendarBuckets) throws -> (fromMs: Int64, toMs: Int64) {
        let fromMs = try localDay(from, option: "--from", calendar)
        let toMs = try localDay(to, option: "--to", calendar)
        guard fromMs < toMs else { throw ValidationError("--from must be before --to") }
        guard toMs - fromMs <= ReportPeriod.maximumDays * 86_400_000 else {
            throw ValidationError("--from … --to spans more than \(ReportPeriod.maximumDays) days")
        }
        return (fromMs, toMs)
    }
}

/// The local midnight of a date given on the command line; a clear refusal naming the option otherwise.
func localDay(_ text: String, option: String, _ calendar: CalendarBuckets) throws -> Int64 {
    guard let day = calendar.startOfDay(text) else { throw ValidationError("\(option) \(text) is not \(ISO8601Time.dateRule)") }
    return day
}

struct Consumption: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "An enterprise's consumption per energy type, in standard coal, with completeness, by day or month.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var period: PeriodOptions

    @Option(help: "Enterprise id.")
    var enterprise: String

    @Option(help: "day or month.")
    var by: String = "day"

    @Option(help: "table, csv, json or xlsx (an Excel workbook, with --output).")
    var format: ExportFormat = .table

    @Option(help: "The workbook to write, with --format xlsx.")
    var output: String?

    @Option(help: "zh or en (table text).")
    var lang: Language = .zh

    func run() async throws {
        let (path, configuration) = try store.resolveWithConfiguration(readOnly: true)
        let (fromMs, toMs) = try period.resolve(configuration.calendar)
        guard let resolution = ["day": Resolution.day, "month": .month][by] else { throw ValidationError("--by must be day or month") }
        let energyStore = try await EnergyStore.open(path: path, readOnly: true)
        let (lines, totals) = try await ConsumptionReport(store: energyStore, configuration: configuration)
            .report(enterprise: enterprise, fromMs: fromMs, toMs: toMs, by: resolution)
        guard !lines.isEmpty else { throw ValidationError("no accounted meters for enterprise \(enterprise)") }
        if let output = try workbookPath(format, output) {
            try Workbook.write(ReportSheets.consumption(lines, totals: totals, enterprise: enterprise, zh: lang == .zh), to: output)
            return
        }
        switch format {
        case .xlsx: break
        case .json:
            struct Output: Encodable {
                let enterprise: String
                let lines: [ConsumptionLine]
                let totals: [ConsumptionTotal]
            }
            print(try encodeJSON(Output(enterprise: enterprise, lines: lines, totals: totals)))
        case .csv:
            var table = TextTable(header: [
                "period", "energy", "quantity", "source", "product", "amount", "unit", "kgce", "estimated", "completeness",
            ])
            for line in lines {
                table.rows.append([
                    line.period, line.energy, line.quantity, line.source, line.product ?? "", String(line.amount), line.unit,
                    line.kgce.map { String($0) } ?? "", String(line.estimated), String(line.completeness),
                ])
            }
            for total in totals {
                table.rows.append([
                    total.period, "total", "comprehensive", "", "", String(total.kgce), "kgce", String(total.kgce),
                    String(total.estimatedKgce),
                    String(total.completeness),
                ])
            }
            print(table.csv(), terminator: "")
        case .table:
            let name = configuration.enterprises.first { $0.id == enterprise }
            print(title(name, resolution))
            print(linesTable(lines).render())
            print(totalsTable(totals).render(), terminator: "")
        }
    }

    func title(_ enterprise: EnterpriseConfig?, _ resolution: Resolution) -> String {
        let who = enterprise.map { "\($0.name)（\($0.id)，\($0.jurisdiction)）" } ?? self.enterprise
        switch lang {
        case .zh: return "\(who) 能源消费 \(period.from) 至 \(period.to)（不含），按\(resolution == .day ? "日" : "月")"
        case .en: return "\(who) energy consumption \(period.from) to \(period.to) (exclusive), by \(resolution.rawValue)"
        }
    }

    func linesTable(_ lines: [ConsumptionLine]) -> TextTable {
        let header =
            lang == .zh
            ? ["期间", "能源品种", "用量", "单位", "折标煤 kgce", "估算", "完整率"]
            : ["period", "energy", "amount", "unit", "kgce", "estimated", "completeness"]
        var table = TextTable(header: header, rightAligned: [2, 4, 5, 6])
        for line in lines {
            table.rows.append([
                line.period, energyName(line, zh: lang == .zh), fixed(line.amount), line.unit, line.kgce.map(fixed) ?? "-",
                percent(line.amount > 0 ? line.estimated / line.amount : 0), percent(line.completeness),
            ])
        }
        return table
    }

    func totalsTable(_ totals: [ConsumptionTotal]) -> TextTable {
        let header =
            lang == .zh
            ? ["期间", "综合能耗 kgce", "综合能耗 tce", "估算部分 kgce", "完整率"]
            : ["period", "comprehensive kgce", "tce", "estimated kgce", "completeness"]
        var table = TextTable(header: header, rightAligned: [1, 2, 3, 4])
        for total in totals {
            table.rows.append([
                total.period, fixed(total.kgce), String(format: "%.3f", total.tce), fixed(total.estimatedKgce),
                percent(total.completeness),
            ])
        }
        return table
    }
}

struct Rebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute rollups and counter events from raw samples; gives exactly what incremental accounting gives.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var period: PeriodOptions

    func run() async throws {
        let (path, configuration) = try store.resolveWithConfiguration()
        let (fromMs, toMs) = try period.resolve(configuration.calendar)
        let energyStore = try await EnergyStore.open(path: path)
        let pass = try await energyStore.rebuild(fromMs: fromMs, toMs: toMs, calendar: configuration.calendar)
        print("rebuilt \(pass.seriesUpdated) series from \(pass.readings) readings: \(pass.quarters) 15-minute buckets")
    }
}
