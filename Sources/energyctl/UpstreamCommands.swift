import ArgumentParser
import EnergyModel
import EnergyStore
import Foundation

struct UpstreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upstream", abstract: "Where the figures are shipped: how far each destination got, its backlog and last error.",
        subcommands: [Status.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per destination: figures complete before, backlog, last success, failures since, last error.")

        @OptionGroup var store: StoreOptions

        @Option(help: "table, csv or json.")
        var format: OutputFormat = .table

        func run() async throws {
            let (path, zone) = try store.resolve()
            let statuses = try await EnergyStore.open(path: path, readOnly: true).upstream.status()
            if format == .json {
                print(try encodeJSON(statuses))
                return
            }
            func time(_ ms: Int64?) -> String { ms.map { ISO8601Time.formatLocal(ms: $0, timeZone: zone) } ?? "-" }
            var table = TextTable(
                header: [
                    "destination", "type", "target", "complete_before", "backlog", "oldest_queued", "last_success", "failures",
                    "shipped_rows", "last_error",
                ],
                rightAligned: [4, 7, 8])
            for s in statuses {
                table.rows.append([
                    s.name, s.kind, s.target, s.backlog == 0 ? "all shipped" : time(s.completeBeforeMs), String(s.backlog),
                    time(s.oldestQueuedAtMs), time(s.lastSuccessAtMs), String(s.failures), String(s.shippedRows),
                    s.failures > 0 ? (s.lastError ?? "") : "",
                ])
            }
            if format == .csv {
                print(table.csv(), terminator: "")
            } else if statuses.isEmpty {
                print("no upstream destination is registered: add [[upstream]] to the configuration and restart energyd")
            } else {
                print(table.render(), terminator: "")
            }
        }
    }
}
