import Accounts
import EnergyModel
import EnergyReports
import Foundation
import NIOHTTP1

/// The plan's targets (规划目标) in the console and the API, over the enterprises the account sees.
extension WebConsole {
    static let planRoutes: [Route] = [
        Route(
            .GET, "plan",
            .signedIn { console, call, principal in
                let standing = try await console.planStanding(call.request, principal)
                return Pages.html(console.planPage(standing, principal, call.language), language: call.language)
            }),
        Route(.GET, "api/v1/plan", .signedIn { console, call, principal in json(try await console.planStanding(call.request, principal)) }),
    ]

    /// The standing in `?year=` (default: the year of the newest reading) over the account's enterprises.
    func planStanding(_ request: HTTPRequest, _ principal: Principal) async throws -> PlanStanding {
        let configuration = principal.scoped(configuration())
        let reports = InspectionReports(store: store, configuration: configuration)
        let year: Int
        if let text = request.query["year"] {
            guard let given = Int(text), (2000...2100).contains(given) else { throw WebError.badRequest("year is YYYY, 2000 to 2100") }
            year = given
        } else {
            let newest = try await newestSampleMs() ?? nowMs()
            year = Int(ISO8601Time.formatLocal(ms: newest, timeZone: reports.calendar.timeZone).prefix(4))!
        }
        return try await reports.plan(year: year)
    }

    func planPage(_ standing: PlanStanding, _ principal: Principal, _ l: Language) -> String {
        var content = "<p>\(escape(standing.plan)) \(standing.year)\(l.t(" 年，数据截至 ", ", data through "))\(escape(standing.dataThrough))</p>"
        content += "<ul id=\"plan-summary\">" + standing.summary(zh: l.zh).map { "<li>\(escape($0))</li>" }.joined() + "</ul>"
        func rate(_ value: Double?) -> String { value.map(percent) ?? "-" }
        content += "<h2>\(l.t("监察检查覆盖", "Inspection coverage"))</h2>"
        content += Pages.table(
            [l.t("镇/园区", "Jurisdiction"), l.t("应检查", "To inspect"), l.t("已检查", "Inspected"), l.t("覆盖率", "Coverage")],
            standing.inspection.jurisdictions.map {
                [
                    escape($0.jurisdiction), escape($0.required.joined(separator: "、")), escape($0.covered.joined(separator: "、")),
                    rate($0.rate),
                ]
            }, id: "plan-inspection")
        content += "<h2>\(l.t("能耗在线监测覆盖", "Online monitoring coverage"))</h2>"
        content += Pages.table(
            [
                l.t("企业", "Enterprise"), l.t("镇/园区", "Jurisdiction"), l.t("能源品种", "Energy types"), l.t("未在线", "Not online"),
                l.t("全覆盖起", "Since"),
            ],
            standing.monitoringDetail.map {
                [
                    escape($0.name), escape($0.jurisdiction), escape($0.energies.joined(separator: "、")),
                    escape($0.missing.joined(separator: "、").isEmpty ? "-" : $0.missing.joined(separator: "、")), escape($0.since ?? "-"),
                ]
            }, id: "plan-monitoring")
        return Pages.document(l.t("规划目标", "Plan targets"), l, principal: principal, content: content)
    }
}
