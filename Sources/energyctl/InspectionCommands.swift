import ArgumentParser
import EnergyModel
import EnergyStore
import Foundation

/// `energyctl inspection`: energy-conservation inspections (节能监察) and their rectifications.
struct InspectionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspection",
        abstract: "Record, list and close energy-conservation inspections (节能监察) and the rectification each requires.",
        subcommands: [Add.self, List.self, Close.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record an inspection of an enterprise.")
        @OptionGroup var store: StoreOptions
        @Option(help: "Enterprise id.") var enterprise: String
        @Option(help: "Day of the inspection, YYYY-MM-DD.") var date: String
        @Option(help: "An inspector (repeat for each).") var inspector: [String] = []
        @Option(help: "on_site or documentary.") var kind: String
        @Option(help: "The law and articles it rests on.") var legalBasis: String
        @Option(help: "What was found.") var findings: String
        @Option(help: "The rectification required (with --deadline).") var rectification: String?
        @Option(help: "Its deadline, YYYY-MM-DD.") var deadline: String?
        @Option(help: "An alert it followed up (repeat for each).") var alert: [Int64] = []

        func run() async throws {
            let (path, configuration) = try store.resolveWithConfiguration()
            let calendar = configuration.calendar
            let inspection: Inspection
            do {
                inspection = try Inspection.checked(
                    enterprise: enterprise, date: date, inspectors: inspector, kind: kind, legalBasis: legalBasis, findings: findings,
                    rectification: rectification, deadline: deadline, alerts: alert,
                    today: calendar.dayLabel(calendar.start(of: .day, containing: SystemWallClock().nowMs())), in: configuration)
            } catch {
                throw ValidationError(error.description)
            }
            let store = try await EnergyStore.open(path: path)
            guard try await store.alerts.areAll(alert, about: enterprise) else {
                throw ValidationError("alerts \(alert.map(String.init).joined(separator: ", ")) are not all alerts of \(enterprise)")
            }
            let record = try await store.inspections.record(inspection, by: User.operatorName, atMs: SystemWallClock().nowMs())
            try await User.audit(store, "inspection", "inspection \(record.id) \(enterprise) \(date)")
            print("recorded inspection \(record.id)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The inspections, newest first (JSON).")
        @OptionGroup var store: StoreOptions
        @Option(help: "Only this enterprise's.") var enterprise: String?

        func run() async throws {
            let (path, _) = try store.resolveWithConfiguration()
            let records = try await EnergyStore.open(path: path, readOnly: true).inspections.list(enterprises: enterprise.map { [$0] })
            let objects = records.map { record -> [String: String] in
                let inspection = record.inspection
                return [
                    "id": String(record.id), "enterprise": inspection.enterprise, "date": inspection.date,
                    "inspectors": inspection.inspectors.joined(separator: "、"), "kind": inspection.kind.rawValue,
                    "legal_basis": inspection.legalBasis, "findings": inspection.findings, "rectification": inspection.rectification ?? "",
                    "deadline": inspection.deadline ?? "", "status": record.status.rawValue, "answer": record.answer ?? "",
                    "closing_note": record.closingNote ?? "",
                ]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(objects), as: UTF8.self))
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close an inspection with a note (办结).")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Inspection number.") var id: Int64
        @Option(help: "The closing note.") var note: String

        func run() async throws {
            let (path, _) = try store.resolveWithConfiguration()
            let store = try await EnergyStore.open(path: path)
            guard let record = try await store.inspections.named(id) else { throw ValidationError("no inspection \(id)") }
            let status: Inspection.Status
            do { status = try InspectionStep.close.applied(by: .admin, to: record.status, text: note) } catch {
                throw ValidationError(error.description)
            }
            let text = note.trimmingCharacters(in: .whitespacesAndNewlines)
            try await store.inspections.apply(.close, to: id, status: status, text: text, atMs: SystemWallClock().nowMs())
            try await User.audit(store, "inspection-close", "inspection \(id) \(record.inspection.enterprise)")
            print("closed inspection \(id)")
        }
    }
}
