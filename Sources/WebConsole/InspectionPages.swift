import Accounts
import EnergyModel
import EnergyStore
import Foundation
import NIOHTTP1

/// The console's inspection pages: the list of the enterprises the account sees, with the form inspectors record
/// one with; one inspection with its answer and closing; the forms post here and are checked as the API's input.
extension WebConsole {
    static let inspectionPageRoutes: [Route] = [
        Route(
            .GET, "inspections",
            .signedIn { console, call, principal in
                Pages.html(try await console.inspectionsPage(principal, call.language, console.configuration()), language: call.language)
            }),
        Route(
            .POST, "inspections",
            .signedIn { console, call, principal in
                let configuration = console.configuration()
                let form = call.request.form
                let enterprise = try console.enterprise(form["enterprise"] ?? "", for: principal, in: configuration)
                func optional(_ key: String) -> String? { (form[key] ?? "").isEmpty ? nil : form[key] }
                let input = InspectionInput(
                    date: form["date"] ?? "", inspectors: WebConsole.names(form["inspectors"] ?? ""), kind: form["kind"] ?? "",
                    legalBasis: form["legalBasis"] ?? "", findings: form["findings"] ?? "", rectification: optional("rectification"),
                    deadline: optional("deadline"),
                    alerts: try WebConsole.names(form["alerts"] ?? "").map { text in
                        try Int64(text).orThrow(WebError.badRequest("alert \(text) is not an alert number"))
                    })
                let record = try await console.recordInspection(input, of: enterprise, by: principal, request: call.request, configuration)
                return .seeOther("/inspections/\(record.id)")
            }),
        Route(
            .GET, "inspections/*",
            .signedIn { console, call, principal in
                Pages.html(
                    try await console.inspectionPage(call.id, principal, call.language, console.configuration()), language: call.language)
            }),
        Route(
            .POST, "inspections/*/steps",
            .signedIn { console, call, principal in
                let record = try await console.inspection(call.id, for: principal, in: console.configuration())
                let form = call.request.form
                _ = try await console.apply(
                    InspectionStepInput(step: form["step"] ?? "", text: form["text"] ?? ""), to: record, by: principal,
                    request: call.request)
                return .seeOther("/inspections/\(record.id)")
            }),
    ]

    /// Names or numbers typed in one field, apart at commas, 、 or spaces.
    static func names(_ text: String) -> [String] {
        text.split(whereSeparator: { ",，、 ".contains($0) }).map(String.init)
    }

    func inspectionsPage(_ principal: Principal, _ l: Language, _ configuration: EnergyConfiguration) async throws -> String {
        let scoped = principal.scoped(configuration)
        let names = Dictionary(scoped.enterprises.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let records = try await store.inspections.list(enterprises: Set(names.keys))
        var content = Pages.table(
            [
                l.t("编号", "No."), l.t("企业", "Enterprise"), l.t("日期", "Date"), l.t("方式", "Kind"), l.t("整改期限", "Deadline"),
                l.t("状态", "Status"),
            ],
            records.map { record in
                let inspection = record.inspection
                return [
                    "<a href=\"/inspections/\(record.id)\">\(record.id)</a>", escape(names[inspection.enterprise] ?? inspection.enterprise),
                    escape(inspection.date), escape(l.zh ? inspection.kind.chinese : inspection.kind.rawValue),
                    escape(inspection.deadline ?? "-"), escape(l.zh ? record.status.chinese : record.status.rawValue),
                ]
            }, id: "inspections")
        if [.inspector, .admin].contains(principal.role) {
            let enterprises = scoped.enterprises.map { "<option value=\"\(escape($0.id))\">\(escape($0.name))</option>" }.joined()
            let kinds = Inspection.Kind.allCases.map {
                "<option value=\"\($0.rawValue)\">\(escape(l.zh ? $0.chinese : $0.rawValue))</option>"
            }
            .joined()
            content += """
                <h2>\(l.t("登记监察", "Record an inspection"))</h2>
                <form method="post" action="/inspections" class="filters" id="inspection-form">
                <input type="hidden" name="csrf" value="\(escape(principal.csrf ?? ""))">
                <label>\(l.t("企业", "Enterprise")) <select name="enterprise">\(enterprises)</select></label>
                <label>\(l.t("日期", "Date")) <input name="date" type="date" required></label>
                <label>\(l.t("监察人员", "Inspectors")) <input name="inspectors" required></label>
                <label>\(l.t("方式", "Kind")) <select name="kind">\(kinds)</select></label>
                <label>\(l.t("法律依据", "Legal basis")) <input name="legalBasis" size="40" required></label>
                <label>\(l.t("发现问题", "Findings")) <input name="findings" size="60" required></label>
                <label>\(l.t("整改要求", "Rectification")) <input name="rectification" size="40"></label>
                <label>\(l.t("整改期限", "Deadline")) <input name="deadline" type="date"></label>
                <label>\(l.t("关联告警编号", "Alert numbers")) <input name="alerts"></label>
                <button>\(l.t("登记", "Record"))</button></form>
                """
        }
        return Pages.document(l.t("节能监察", "Inspections"), l, principal: principal, content: content)
    }

    func inspectionPage(_ id: String, _ principal: Principal, _ l: Language, _ configuration: EnergyConfiguration) async throws -> String {
        let record = try await inspection(id, for: principal, in: configuration)
        let inspection = record.inspection
        let name = configuration.enterprises.first { $0.id == inspection.enterprise }?.name ?? inspection.enterprise
        var rows: [[String]] = [
            [l.t("企业", "Enterprise"), "<a href=\"/enterprises/\(escape(inspection.enterprise))\">\(escape(name))</a>"],
            [l.t("日期", "Date"), escape(inspection.date)],
            [l.t("方式", "Kind"), escape(l.zh ? inspection.kind.chinese : inspection.kind.rawValue)],
            [l.t("监察人员", "Inspectors"), escape(inspection.inspectors.joined(separator: "、"))],
            [l.t("法律依据", "Legal basis"), escape(inspection.legalBasis)], [l.t("发现问题", "Findings"), escape(inspection.findings)],
            [l.t("整改要求", "Rectification"), escape(inspection.rectification ?? "-")],
            [l.t("整改期限", "Deadline"), escape(inspection.deadline ?? "-")],
            [
                l.t("关联告警", "Alerts"),
                inspection.alerts.map { "<a href=\"/alerts/\($0)\">\($0)</a>" }.joined(separator: " ").ifEmpty("-"),
            ],
            [l.t("状态", "Status"), "<b>\(escape(l.zh ? record.status.chinese : record.status.rawValue))</b>"],
        ]
        if let answer = record.answer { rows.append([l.t("整改说明", "Answer"), escape(answer)]) }
        if let note = record.closingNote { rows.append([l.t("办结意见", "Closing note"), escape(note)]) }
        var content = Pages.table([l.t("项目", "Item"), l.t("内容", "Content")], rows, id: "inspection")
        // The steps the account's role may take; the rules decide again when the form is sent.
        let allowed = InspectionStep.allCases.filter {
            (try? $0.applied(by: principal.role, to: record.status, text: "-")) != nil
                && ($0 != .answer || principal.account.scope.contains(inspection.enterprise))
        }
        if !allowed.isEmpty {
            let options = allowed.map {
                "<option value=\"\($0.rawValue)\">\(escape($0 == .answer ? l.t("整改说明", "answer") : l.t("办结", "close")))</option>"
            }.joined()
            content += """
                <form method="post" action="/inspections/\(record.id)/steps" class="filters" id="inspection-step">
                <input type="hidden" name="csrf" value="\(escape(principal.csrf ?? ""))">
                <label>\(l.t("操作", "Step")) <select name="step">\(options)</select></label>
                <label>\(l.t("说明", "Text")) <input name="text" size="60" required></label>
                <button>\(l.t("提交", "Submit"))</button></form>
                """
        }
        return Pages.document(l.t("节能监察", "Inspection") + " \(record.id)", l, principal: principal, content: content)
    }
}

extension String {
    fileprivate func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}
