import Accounts
import EnergyModel
import EnergyStore
import Foundation
import NIOHTTP1

/// An inspection as the API shows it.
struct InspectionView: Codable {
    var id: Int64
    var enterprise, date: String
    var inspectors: [String]
    var kind, legalBasis, findings: String
    var rectification, deadline: String?
    var alerts: [Int64]
    var status: String
    var answer, closingNote: String?
    var recordedBy, recordedAt: String

    init(_ record: InspectionRecord, timeZone: TimeZone) {
        let inspection = record.inspection
        (id, enterprise, date, inspectors) = (record.id, inspection.enterprise, inspection.date, inspection.inspectors)
        (kind, legalBasis, findings) = (inspection.kind.rawValue, inspection.legalBasis, inspection.findings)
        (rectification, deadline, alerts) = (inspection.rectification, inspection.deadline, inspection.alerts)
        (status, answer, closingNote, recordedBy) = (record.status.rawValue, record.answer, record.closingNote, record.recordedBy)
        recordedAt = ISO8601Time.formatLocal(ms: record.recordedMs, timeZone: timeZone)
    }
}

/// An inspection as the API takes it.
struct InspectionInput: Codable {
    var date: String
    var inspectors: [String]
    var kind: String
    var legalBasis: String
    var findings: String
    var rectification: String?
    var deadline: String?
    var alerts: [Int64]?
}

/// An answer or a closing note, as the API takes it.
struct InspectionStepInput: Codable {
    var step: String
    var text: String
}

extension WebConsole {
    /// Inspections (节能监察): every account lists those of the enterprises it sees; inspectors and admins record
    /// and close them; an enterprise answers its own.
    static let inspectionRoutes: [Route] = [
        Route(
            .GET, "api/v1/inspections",
            .signedIn { console, _, principal in
                let configuration = console.configuration()
                let seen = Set(principal.scoped(configuration).enterprises.map(\.id))
                return json([
                    "inspections": try await console.store.inspections.list(enterprises: seen).map {
                        InspectionView($0, timeZone: configuration.calendar.timeZone)
                    }
                ])
            }),
        Route(
            .POST, "api/v1/enterprises/*/inspections",
            .signedIn { console, call, principal in
                let configuration = console.configuration()
                let enterprise = try console.enterprise(call.id, for: principal, in: configuration)
                guard let input = try? JSONDecoder().decode(InspectionInput.self, from: Data(call.request.body)) else {
                    throw WebError.badRequest(
                        "send JSON {\"date\": \"YYYY-MM-DD\", \"inspectors\": […], \"kind\": \"on_site|documentary\", \"legalBasis\": …, "
                            + "\"findings\": …, \"rectification\": …, \"deadline\": \"YYYY-MM-DD\", \"alerts\": [id…]}")
                }
                let recorded = try await console.recordInspection(
                    input, of: enterprise, by: principal, request: call.request, configuration)
                return json(["recorded": InspectionView(recorded, timeZone: configuration.calendar.timeZone)])
            }),
        Route(
            .POST, "api/v1/inspections/*/steps",
            .signedIn { console, call, principal in
                let configuration = console.configuration()
                guard let input = try? JSONDecoder().decode(InspectionStepInput.self, from: Data(call.request.body)) else {
                    throw WebError.badRequest("send JSON {\"step\": \"answer|close\", \"text\": …}")
                }
                let record = try await console.inspection(call.id, for: principal, in: configuration)
                let after = try await console.apply(input, to: record, by: principal, request: call.request)
                return json(["inspection": InspectionView(after, timeZone: configuration.calendar.timeZone)])
            }),
    ]

    /// Records an inspection of `enterprise`, by an inspector or admin; linked alerts must be the enterprise's. Audited.
    func recordInspection(
        _ input: InspectionInput, of enterprise: EnterpriseConfig, by principal: Principal, request: HTTPRequest,
        _ configuration: EnergyConfiguration
    ) async throws -> InspectionRecord {
        guard [.inspector, .admin].contains(principal.role) else { throw WebError.forbidden }
        let now = nowMs()
        let inspection: Inspection
        do {
            inspection = try Inspection.checked(
                enterprise: enterprise.id, date: input.date, inspectors: input.inspectors, kind: input.kind, legalBasis: input.legalBasis,
                findings: input.findings, rectification: input.rectification, deadline: input.deadline, alerts: input.alerts ?? [],
                today: configuration.calendar.dayLabel(configuration.calendar.start(of: .day, containing: now)), in: configuration)
        } catch {
            throw WebError.badRequest(error.description)
        }
        guard try await store.alerts.areAll(inspection.alerts, about: enterprise.id) else {
            throw WebError.badRequest(
                "alerts \(inspection.alerts.map(String.init).joined(separator: ", ")) are not all alerts of \(enterprise.id)")
        }
        let record = try await store.inspections.record(inspection, by: principal.account.name, atMs: now)
        try await store.accounts.audit(
            account: principal.account.name, action: "inspection",
            detail: "inspection \(record.id) \(enterprise.id) \(inspection.date)\(inspection.deadline.map { " 整改期限 \($0)" } ?? "")",
            remote: request.remoteAddress, atMs: now)
        return record
    }

    /// Inspection `id`, when the account sees its enterprise.
    func inspection(_ id: String, for principal: Principal, in configuration: EnergyConfiguration) async throws -> InspectionRecord {
        guard let number = Int64(id), let record = try await store.inspections.named(number),
            let enterprise = configuration.enterprises.first(where: { $0.id == record.inspection.enterprise }), principal.sees(enterprise)
        else { throw WebError.notFound("no inspection \(id)") }
        return record
    }

    /// Answers or closes an inspection the account sees, by `InspectionStep.applied`'s rules. Audited.
    func apply(_ input: InspectionStepInput, to record: InspectionRecord, by principal: Principal, request: HTTPRequest) async throws
        -> InspectionRecord
    {
        guard let step = InspectionStep(rawValue: input.step) else {
            throw WebError.badRequest("step is one of \(InspectionStep.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let status: Inspection.Status
        do {
            status = try step.applied(by: principal.role, to: record.status, text: input.text)
        } catch let refusal {
            throw refusal.forbidden ? WebError.forbidden : WebError.badRequest(refusal.description)
        }
        let text = input.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let now = nowMs()
        try await store.inspections.apply(step, to: record.id, status: status, text: text, atMs: now)
        try await store.accounts.audit(
            account: principal.account.name, action: "inspection-\(step.rawValue)",
            detail: "inspection \(record.id) \(record.inspection.enterprise)",
            remote: request.remoteAddress, atMs: now)
        // Closing ends an overdue rectification's alert at the next day's checks; the figures do not change.
        return try await store.inspections.named(record.id) ?? record
    }
}
