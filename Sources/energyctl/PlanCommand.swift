import ArgumentParser
import EnergyModel
import EnergyReports
import EnergyStore
import Foundation

/// `energyctl plan`: the district's standing on the plan's targets (规划目标) in a year.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "The plan's targets in a year: inspection coverage, online-monitoring coverage, 对标达标率, with the enterprises behind each.")

    @OptionGroup var store: StoreOptions
    @Option(help: "The year (default: the year of the newest reading).") var year: Int?
    @Option(help: "table or json.") var format: ExportFormat = .table
    @Option(help: "zh (default) or en.") var lang: Language = .zh

    func run() async throws {
        let (path, configuration) = try store.resolveWithConfiguration(readOnly: true)
        guard format == .table || format == .json else { throw ValidationError("plan writes table or json") }
        let store = try await EnergyStore.open(path: path, readOnly: true)
        let reports = InspectionReports(store: store, configuration: configuration)
        let newest = try await store.newestSampleMs() ?? SystemWallClock().nowMs()
        let year = self.year ?? Int(ISO8601Time.formatLocal(ms: newest, timeZone: reports.calendar.timeZone).prefix(4))!
        let standing: PlanStanding
        do { standing = try await reports.plan(year: year) } catch let error as PlanError { throw ValidationError(error.description) }
        if format == .json {
            print(try encodeJSON(standing))
            return
        }
        let zh = lang == .zh
        print("\(standing.plan) \(standing.year)" + (zh ? " 年（数据截至 \(standing.dataThrough)）" : " (data through \(standing.dataThrough))"))
        for line in standing.summary(zh: zh) { print(line) }
        var table = TextTable(
            header: zh ? ["镇/园区", "应检查", "已检查", "覆盖率"] : ["jurisdiction", "to inspect", "inspected", "coverage"], rightAligned: [1, 2, 3])
        for line in standing.inspection.jurisdictions {
            table.rows.append([line.jurisdiction, String(line.required.count), String(line.covered.count), line.rate.map(percent) ?? "-"])
        }
        print()
        print(table.render())
    }
}
