import ArgumentParser
import EnergyModel
import EnergyStore
import Foundation

/// `energyctl entry`: energy not metered online, entered by hand per month (手工填报).
struct Entry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Energy not metered online (purchased coal, diesel, LPG, heat), entered by hand per month.",
        subcommands: [Add.self, List.self, Import.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a month of one energy type: the amount consumed, or purchases with opening and closing stock.")
        @OptionGroup var store: StoreOptions
        @Option var enterprise: String
        @Option(help: "The month (YYYY-MM).") var month: String
        @Option(help: "Energy type (diesel, raw_coal, lpg, heat, …).") var energy: String
        @Option(help: "Amount consumed in the month, in --unit.") var amount: Double?
        @Option(help: "Bought in the month, in --unit (instead of --amount).") var purchases: Double?
        @Option(help: "Stock at the month's start, with --purchases.") var opening: Double?
        @Option(help: "Stock at the month's end, with --purchases.") var closing: Double?
        @Option(help: "Unit of the figures (t, kg, GJ, MJ, kWh, m3, …).") var unit: String

        func run() async throws {
            let (path, configuration) = try store.resolveWithConfiguration()
            let row = EntryRow(
                enterprise: enterprise, month: month, energy: energy, unit: unit, amount: amount, purchases: purchases, opening: opening,
                closing: closing)
            try await recordEntries([row], path: path, configuration: configuration, source: "energyctl entry add")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The entries, by enterprise, month and energy type.")
        @OptionGroup var store: StoreOptions
        @Option(help: "Only this enterprise.") var enterprise: String?
        @Option(help: "table, csv or json.") var format: ExportFormat = .table

        func run() async throws {
            let (path, configuration) = try store.resolveWithConfiguration()
            guard format != .xlsx else { throw ValidationError("entry list writes table, csv or json") }
            let entries = try await EnergyStore.open(path: path, readOnly: true).entries.list(enterprise: enterprise)
            let zone = configuration.calendar.timeZone
            let rows = entries.map { entry in
                EntryView(
                    enterprise: entry.enterprise, month: String(ISO8601Time.formatLocal(ms: entry.monthStartMs, timeZone: zone).prefix(7)),
                    energy: entry.energy.rawValue, unit: entry.unit, purchases: entry.purchases, openingStock: entry.openingStock,
                    closingStock: entry.closingStock, consumption: entry.consumption, source: entry.source,
                    enteredAt: ISO8601Time.format(ms: entry.enteredMs, timeZone: zone))
            }
            switch format {
            case .json:
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            case .csv:
                print(EntryRow.csvHeader + ",source,entered_at")
                for row in rows {
                    print(
                        [
                            row.enterprise, row.month, row.energy, row.unit, text(row.consumption), text(row.purchases),
                            text(row.openingStock),
                            text(row.closingStock), row.source, row.enteredAt,
                        ].joined(separator: ","))
                }
            case .table, .xlsx:
                var table = TextTable(
                    header: ["企业", "月份", "能源品种", "单位", "消费量", "购入量", "期初库存", "期末库存", "填报来源"], rightAligned: [4, 5, 6, 7])
                for row in rows {
                    table.rows.append([
                        row.enterprise, row.month, EnergyType(rawValue: row.energy)?.chineseName ?? row.energy, row.unit,
                        text(row.consumption),
                        text(row.purchases), text(row.openingStock), text(row.closingStock), row.source,
                    ])
                }
                print(table.render())
            }
        }

        /// A number as entered (no trailing zeros), or empty.
        func text(_ value: Double?) -> String {
            guard let value else { return "" }
            return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a CSV file: \(EntryRow.csvHeader) (a header line is skipped; amount, or purchases with stocks).")
        @OptionGroup var store: StoreOptions
        @Argument(help: "CSV file.") var file: String

        func run() async throws {
            let (path, configuration) = try store.resolveWithConfiguration()
            var rows: [EntryRow] = []
            for (line, fields) in try csvLines(file) {
                guard let row = EntryRow(csv: fields) else { throw ValidationError("\(file):\(line): expected \(EntryRow.csvHeader)") }
                rows.append(row)
            }
            try await recordEntries(
                rows, path: path, configuration: configuration, source: "energyctl entry import \((file as NSString).lastPathComponent)")
        }
    }
}

/// One entry as given on the command line or in a CSV line, before it is checked.
struct EntryRow {
    static let csvHeader = "enterprise,month,energy,unit,amount,purchases,opening,closing"

    var enterprise, month, energy, unit: String
    var amount, purchases, opening, closing: Double?

    init(
        enterprise: String, month: String, energy: String, unit: String, amount: Double?, purchases: Double?, opening: Double?,
        closing: Double?
    ) {
        (self.enterprise, self.month, self.energy, self.unit) = (enterprise, month, energy, unit)
        (self.amount, self.purchases, self.opening, self.closing) = (amount, purchases, opening, closing)
    }

    /// The row of a CSV line's eight fields; numbers may be empty, never malformed.
    init?(csv fields: [String]) {
        guard fields.count == 8 else { return nil }
        var numbers: [Double?] = []
        for field in fields[4...] {
            if field.isEmpty {
                numbers.append(nil)
            } else if let number = Double(field) {
                numbers.append(number)
            } else {
                return nil
            }
        }
        self.init(
            enterprise: fields[0], month: fields[1], energy: fields[2], unit: fields[3], amount: numbers[0], purchases: numbers[1],
            opening: numbers[2], closing: numbers[3])
    }
}

/// An entry as `entry list` shows it (JSON: the API's field names).
struct EntryView: Encodable {
    var enterprise, month, energy, unit: String
    var purchases, openingStock, closingStock: Double?
    var consumption: Double
    var source, enteredAt: String
}

/// Checks every row before the first is written (a bad row leaves the store as it was), then records and audits them.
func recordEntries(_ rows: [EntryRow], path: String, configuration: EnergyConfiguration, source: String) async throws {
    let now = SystemWallClock().nowMs()
    var entries: [EnergyEntry] = []
    for (number, row) in rows.enumerated() {
        do {
            entries.append(
                try EnergyEntry.checked(
                    enterprise: row.enterprise, month: row.month, energy: row.energy, unit: row.unit, consumption: row.amount,
                    purchases: row.purchases, openingStock: row.opening, closingStock: row.closing, nowMs: now, in: configuration))
        } catch {
            throw ValidationError(rows.count == 1 ? error.description : "row \(number + 1): \(error.description)")
        }
    }
    let store = try await EnergyStore.open(path: path)
    for entry in entries {
        try await store.entries.record(entry, source: source, enteredMs: now, calendar: configuration.calendar)
        try await User.audit(
            store, "energy-entry", "\(entry.enterprise) \(entry.month) \(entry.energy.rawValue) = \(entry.consumption) \(entry.unit)")
    }
    print("recorded \(entries.count) energy entr\(entries.count == 1 ? "y" : "ies")")
}

/// `energyctl output-value`: an enterprise's output value per month (产值, 增加值), the denominator of energy per 万元.
struct OutputValueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "output-value", abstract: "Gross output value and value added per enterprise and month (万元, current prices).",
        subcommands: [Add.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a month's output value.")
        @OptionGroup var store: StoreOptions
        @Option var enterprise: String
        @Option(help: "The month (YYYY-MM).") var month: String
        @Option(help: "Gross industrial output value, 万元.") var grossOutput: Double
        @Option(help: "Value added, 万元.") var valueAdded: Double?

        func run() async throws {
            let (path, configuration) = try store.resolveWithConfiguration()
            let now = SystemWallClock().nowMs()
            let value: OutputValue
            do {
                value = try OutputValue.checked(
                    enterprise: enterprise, month: month, grossOutput: grossOutput, valueAdded: valueAdded, nowMs: now, in: configuration)
            } catch {
                throw ValidationError(error.description)
            }
            let store = try await EnergyStore.open(path: path)
            try await store.outputValues.record(value, source: "energyctl output-value add", enteredMs: now)
            try await User.audit(
                store, "output-value", "\(enterprise) \(month) = \(grossOutput) 万元, value added \(valueAdded.map { "\($0)" } ?? "-")")
            print("recorded the output value of \(enterprise) in \(month)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The output values entered, by enterprise and month (JSON).")
        @OptionGroup var store: StoreOptions
        @Option(help: "Only this enterprise.") var enterprise: String?

        func run() async throws {
            let (path, configuration) = try store.resolveWithConfiguration()
            let values = try await EnergyStore.open(path: path, readOnly: true).outputValues.list(enterprise: enterprise)
            let rows = values.map { OutputValueView($0, calendar: configuration.calendar) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        }
    }
}

/// A month's output value as `output-value list` shows it.
struct OutputValueView: Encodable {
    var enterprise, month: String
    var grossOutput: Double
    var valueAdded: Double?
    var source: String

    init(_ value: StoredOutputValue, calendar: CalendarBuckets) {
        enterprise = value.enterprise
        month = String(calendar.dayLabel(value.monthStartMs).prefix(7))
        grossOutput = value.grossOutput
        valueAdded = value.valueAdded
        source = value.source
    }
}

/// `energyctl ledger`: the ledger of measuring instruments (计量器具台账).
struct Ledger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The ledger of measuring instruments: maker, accuracy class, transformer ratios, calibration.",
        subcommands: [Import.self, List.self])

    static let csvHeader = "meter,maker,model,accuracy_class,ct_ratio,pt_ratio,installed,last_calibrated,next_due,certificate,status"

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a CSV file: \(Ledger.csvHeader) (a header line is skipped; a file is taken whole or not at all).")
        @OptionGroup var store: StoreOptions
        @Argument(help: "CSV file.") var file: String

        func run() async throws {
            let (path, configuration) = try store.resolveWithConfiguration()
            var entries: [LedgerEntry] = []
            for (line, fields) in try csvLines(file, header: "meter") {
                guard fields.count == 11 else { throw ValidationError("\(file):\(line): expected \(Ledger.csvHeader)") }
                func ratio(_ text: String) throws -> Double? {
                    guard !text.isEmpty else { return nil }
                    guard let value = Double(text) else { throw ValidationError("\(file):\(line): ratio \(text) is not a number") }
                    return value
                }
                do {
                    entries.append(
                        try LedgerEntry.checked(
                            meter: fields[0], maker: fields[1], model: fields[2], accuracyClass: fields[3], ctRatio: try ratio(fields[4]),
                            ptRatio: try ratio(fields[5]), installed: fields[6], lastCalibrated: fields[7].isEmpty ? nil : fields[7],
                            nextDue: fields[8], certificate: fields[9], status: fields[10], in: configuration))
                } catch let problem as LedgerEntry.Problem {
                    throw ValidationError("\(file):\(line): \(problem.description)")
                }
            }
            let store = try await EnergyStore.open(path: path)
            try await store.ledger.record(
                entries, source: "energyctl ledger import \((file as NSString).lastPathComponent)", atMs: SystemWallClock().nowMs())
            try await User.audit(store, "ledger-import", "\(entries.count) lines from \((file as NSString).lastPathComponent)")
            print("recorded \(entries.count) ledger line\(entries.count == 1 ? "" : "s")")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The ledger, as CSV (the import's columns) or JSON.")
        @OptionGroup var store: StoreOptions
        @Option(help: "csv or json.") var format: ExportFormat = .csv

        func run() async throws {
            let (path, _) = try store.resolveWithConfiguration()
            guard format == .csv || format == .json else { throw ValidationError("ledger list writes csv or json") }
            let entries = try await EnergyStore.open(path: path, readOnly: true).ledger.list()
            func number(_ value: Double?) -> String { value.map { $0 == $0.rounded() ? String(Int64($0)) : String($0) } ?? "" }
            let rows = entries.map {
                [
                    $0.meter, $0.maker, $0.model, $0.accuracyClass, number($0.ctRatio), number($0.ptRatio), $0.installed,
                    $0.lastCalibrated ?? "",
                    $0.nextDue, $0.certificate, $0.status.rawValue,
                ]
            }
            if format == .json {
                let names = Ledger.csvHeader.split(separator: ",").map(String.init)
                let objects = rows.map { Dictionary(uniqueKeysWithValues: zip(names, $0)) }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(objects), as: UTF8.self))
            } else {
                print(Ledger.csvHeader)
                for row in rows { print(row.joined(separator: ",")) }
            }
        }
    }
}
