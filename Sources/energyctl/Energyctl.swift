import ArgumentParser
import ConfigurationFiles
import EnergyModel
import EnergyReports
import EnergyStore
import Foundation

@main
struct Energyctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "energyctl",
        abstract: "Reads what energyd stored: samples, consumption, inspection reports and alerts; enters production figures.",
        version: EnergyMonitorRelease.version,
        subcommands: [
            Summary.self, Samples.self, Consumption.self, Rebuild.self, Report.self, Alerts.self, Production.self, Entry.self,
            OutputValueCommand.self, Ledger.self, InspectionCommand.self, PlanCommand.self, Outbox.self,
            UpstreamCommand.self, User.self,
        ])
}

/// Where the database is: named directly, or taken from the configuration.
struct StoreOptions: ParsableArguments {
    @Option(help: "energyd's main configuration file (for the database path and time zone).")
    var config: String?

    @Option(help: "Database path (overrides the configuration's).")
    var database: String?

    /// The database path and the time zone for printing times; read-only, so a configuration with errors only warns.
    func resolve() throws -> (database: String, timeZone: TimeZone) {
        let (path, configuration) = try resolveWithConfiguration(readOnly: true)
        return (path, configuration.calendar.timeZone)
    }

    /// The database path and the configuration (defaults when none is given); with `mustExist` false the
    /// database may be still to be created (accounts made before energyd's first start). A command that only reads
    /// (`readOnly`) goes on over a configuration with errors, with what is valid in it and a warning on stderr: an
    /// operator in the middle of an edit can still look at the outbox and the reports. One that writes refuses.
    func resolveWithConfiguration(mustExist: Bool = true, readOnly: Bool = false) throws -> (
        database: String, configuration: EnergyConfiguration
    ) {
        var configuration = EnergyConfiguration()
        if let config {
            do {
                configuration = try ConfigurationLoader.load(path: config)
            } catch {
                guard readOnly, let (partial, errors) = try? ConfigurationLoader.loadTolerating(path: config) else {
                    throw ValidationError(error.description)
                }
                configuration = partial
                FileHandle.standardError.write(
                    Data(
                        ("warning: \(config) has errors; what is valid in it is used:\n"
                            + errors.map { "  \($0)\n" }.joined()).utf8))
            }
        }
        guard let path = database ?? (config != nil ? configuration.daemon.databasePath : nil) else {
            throw ValidationError("give --config or --database")
        }
        guard !mustExist || FileManager.default.fileExists(atPath: path) else { throw ValidationError("\(path): no such database") }
        return (path, configuration)
    }
}

/// Output formats.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, csv, json
}

struct Summary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Per meter point: samples stored, good share, time range and latest value.")

    @OptionGroup var store: StoreOptions

    @Option(help: "table, csv or json.")
    var format: OutputFormat = .table

    func run() async throws {
        let (path, zone) = try store.resolve()
        let summaries = try await EnergyStore.open(path: path, readOnly: true).seriesSummaries()
        func time(_ ms: Int64?) -> String { ms.map { ISO8601Time.formatLocal(ms: $0, timeZone: zone) } ?? "-" }
        var table = TextTable(
            header: ["enterprise", "meter", "point", "energy", "samples", "good %", "first", "last", "latest value", "unit"],
            rightAligned: [4, 5, 8])
        var objects: [[String: Any]] = []
        for summary in summaries {
            let goodShare = summary.samples == 0 ? nil : 100 * Double(summary.good) / Double(summary.samples)
            table.rows.append([
                summary.series.enterprise, summary.series.meter, summary.series.point, summary.series.energy.rawValue,
                String(summary.samples),
                goodShare.map { String(format: "%.1f", $0) } ?? "-", time(summary.firstMs), time(summary.lastMs),
                summary.lastGoodValue.map { String(format: "%.2f", $0) } ?? "-", summary.series.unit,
            ])
            objects.append([
                "enterprise": summary.series.enterprise, "meter": summary.series.meter, "point": summary.series.point,
                "energy": summary.series.energy.rawValue, "samples": summary.samples, "good_percent": jsonValue(goodShare),
                "first": jsonTime(summary.firstMs, zone), "last": jsonTime(summary.lastMs, zone),
                "latest_value": jsonValue(summary.lastGoodValue), "unit": summary.series.unit,
            ])
        }
        try printRows(format, table, json: objects)
    }
}

struct Samples: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The raw samples of one meter, newest last.")

    @OptionGroup var store: StoreOptions

    @Option(help: "Meter id.")
    var meter: String

    @Option(help: "Only this point.")
    var point: String?

    @Option(help: "At most this many samples per point (the latest).")
    var last = 20

    @Option(help: "table, csv or json.")
    var format: OutputFormat = .table

    func run() async throws {
        let (path, zone) = try store.resolve()
        let energyStore = try await EnergyStore.open(path: path, readOnly: true)
        let series = try await energyStore.allSeries().filter { $0.meter == meter && (point == nil || $0.point == point) }
        guard !series.isEmpty else { throw ValidationError("no stored series for meter \(meter)") }
        var table = TextTable(header: ["meter", "point", "time", "value", "unit", "quality"], rightAligned: [3])
        var objects: [[String: Any]] = []
        for record in series {
            for sample in try await energyStore.samples(seriesID: record.id).suffix(last) {
                table.rows.append([
                    record.meter, record.point, ISO8601Time.formatLocal(ms: sample.timestampMs, timeZone: zone),
                    sample.value.map { String($0) } ?? "-", record.unit, sample.quality.description,
                ])
                objects.append([
                    "meter": record.meter, "point": record.point, "time": jsonTime(sample.timestampMs, zone),
                    "value": jsonValue(sample.value), "unit": record.unit, "quality": sample.quality.description,
                ])
            }
        }
        try printRows(format, table, json: objects)
    }
}

/// Prints rows as an aligned table, as CSV, or as a JSON array of typed objects: numbers as numbers, times as
/// ISO 8601 with their offset, NSNull for what is absent (the table's text is for people, the JSON for programs).
func printRows(_ format: OutputFormat, _ table: TextTable, json objects: [[String: Any]]) throws {
    switch format {
    case .table: print(table.render(), terminator: "")
    case .csv: print(table.csv(), terminator: "")
    case .json:
        let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
    }
}

/// A time for JSON output: ISO 8601 with the offset of `zone`, or null.
func jsonTime(_ ms: Int64?, _ zone: TimeZone) -> Any { ms.map { ISO8601Time.format(ms: $0, timeZone: zone) } ?? NSNull() }

/// An optional value for JSON output, null when absent.
func jsonValue(_ value: Any?) -> Any { value ?? NSNull() }
