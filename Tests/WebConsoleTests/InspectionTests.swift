import EnergyModel
import EnergyStore
import Foundation
import TestSupport
import Testing

@testable import WebConsole

/// Inspections (节能监察) through the API, over real HTTP on the demo district's January: an inspector records one
/// that follows up E02's over-quota alert and requires a rectification; the enterprise answers; the inspector closes
/// it; each role only where it may, every refusal writing nothing, each step audited.
@Suite(.serialized) struct InspectionTests {
    @Test func anInspectionIsRecordedAnsweredAndClosedEachRoleOnlyWhereItMay() async throws {
        let site = try await ConsoleAccessTests.Site()
        defer { site.directory.remove() }
        let inspector = try await site.login("inspector")
        let longhe = try await site.login("longhe")
        let e02 = try await site.login("e02")
        func post(_ session: ConsoleAccessTests.Session, _ path: String, _ json: String) async throws -> ConsoleAccessTests.Answer {
            try await site.send("POST", path, headers: session.headers.merging(["X-CSRF-Token": session.csrf]) { $1 }, json: json)
        }
        func listed(_ session: ConsoleAccessTests.Session) async throws -> [[String: Any]] {
            let answer = try await site.send("GET", "/api/v1/inspections", headers: session.headers)
            #expect(answer.status == 200, "\(answer.body)")
            return (try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: [[String: Any]]])?["inspections"] ?? []
        }
        let alerts = try await site.store.alerts.list(openOnly: false)
        let e02Alert = try #require(alerts.first { $0.raised.enterprise.id == "E02" }?.id)
        let e01Alert = try #require(alerts.first { $0.raised.enterprise.id == "E01" }?.id)
        func inspection(
            date: String = "2026-02-03", kind: String = "on_site", rectification: String? = "更换窑头燃烧器，复查合格前限产",
            deadline: String? = "2026-03-31", alerts: [Int64]
        ) -> String {
            let object: [String: Any?] = [
                "date": date, "inspectors": ["王明", "李静"], "kind": kind, "legalBasis": "《中华人民共和国节约能源法》第十六条",
                "findings": "2026 年 1 月熟料单位产品综合能耗 125 kgce/t，超过 GB 16780-2021 限定值 117 kgce/t", "rectification": rectification,
                "deadline": deadline, "alerts": alerts,
            ]
            let data = try! JSONSerialization.data(withJSONObject: object.compactMapValues { $0 })
            return String(decoding: data, as: UTF8.self)
        }

        // Refused, with nothing written: roles that may not record, and bad input.
        let path = "/api/v1/enterprises/E02/inspections"
        #expect(try await post(longhe, path, inspection(alerts: [e02Alert])).status == 403)
        #expect(try await post(e02, path, inspection(alerts: [e02Alert])).status == 403)
        for (body, reason) in [
            (inspection(deadline: "2026-01-31", alerts: [e02Alert]), "is before the inspection"),
            (inspection(kind: "phone", alerts: [e02Alert]), "kind phone"),
            (inspection(alerts: [e01Alert]), "not all alerts of E02"),
            (inspection(deadline: nil, alerts: [e02Alert]), "needs its deadline"),
            (inspection(date: "2099-01-05", deadline: "2099-02-01", alerts: []), "in the future"),
            (inspection(date: "2026-02-30", alerts: []), "is not a date"),
        ] {
            let answer = try await post(inspector, path, body)
            #expect(answer.status == 400 && answer.body.contains(reason), "\(reason): \(answer.body)")
        }
        #expect(try await site.store.inspections.list().isEmpty, "nothing refused was written")

        // Recorded; a documentary one of E01 beside it, which neither 龙河镇 nor E02 sees.
        let recorded = try await post(inspector, path, inspection(alerts: [e02Alert]))
        #expect(recorded.status == 200, "\(recorded.body)")
        let id = try #require(
            ((try JSONSerialization.jsonObject(with: Data(recorded.body.utf8)) as? [String: Any])?["recorded"] as? [String: Any])?["id"]
                as? Int)
        let other = try await post(
            inspector, "/api/v1/enterprises/E01/inspections", inspection(kind: "documentary", rectification: nil, deadline: nil, alerts: [])
        )
        let otherID = try #require(
            ((try JSONSerialization.jsonObject(with: Data(other.body.utf8)) as? [String: Any])?["recorded"] as? [String: Any])?["id"]
                as? Int)
        #expect(try await listed(inspector).map { $0["enterprise"] as? String }.sorted { ($0 ?? "") < ($1 ?? "") } == ["E01", "E02"])
        for session in [longhe, e02] {
            let seen = try await listed(session)
            #expect(seen.map { $0["id"] as? Int } == [id] && seen.first?["status"] as? String == "open")
            #expect(seen.first?["inspectors"] as? [String] == ["王明", "李静"] && seen.first?["deadline"] as? String == "2026-03-31")
        }

        // The enterprise answers its own; the inspector closes; nobody else steps, nothing after closing.
        let steps = "/api/v1/inspections/\(id)/steps"
        #expect(try await post(longhe, steps, #"{"step":"answer","text":"镇里代答"}"#).status == 403)
        #expect(try await post(e02, steps, #"{"step":"close","text":"自行办结"}"#).status == 403)
        #expect(try await post(e02, "/api/v1/inspections/\(otherID)/steps", #"{"step":"answer","text":"不是我们的"}"#).status == 404)
        #expect(try await post(e02, steps, #"{"step":"answer","text":"  "}"#).status == 400)
        #expect(try await post(e02, steps, #"{"step":"appeal","text":"申请复议"}"#).status == 400)
        #expect(try await site.store.inspections.named(Int64(id))?.status == .open, "nothing refused was written")
        let answered = try await post(e02, steps, #"{"step":"answer","text":"3 月 20 日已更换燃烧器，单耗降至 112 kgce/t"}"#)
        #expect(answered.status == 200 && answered.body.contains(#""status":"answered""#), "\(answered.body)")
        let closed = try await post(inspector, steps, #"{"step":"close","text":"3 月 28 日复查合格"}"#)
        #expect(closed.status == 200 && closed.body.contains(#""status":"closed""#), "\(closed.body)")
        #expect(try await post(inspector, steps, #"{"step":"close","text":"再办结一次"}"#).status == 400)
        let stored = try #require(try await site.store.inspections.named(Int64(id)))
        #expect(stored.answer == "3 月 20 日已更换燃烧器，单耗降至 112 kgce/t" && stored.closingNote == "3 月 28 日复查合格")
        #expect(stored.inspection.alerts == [e02Alert] && stored.recordedBy == "inspector")

        let audit = try await site.store.accounts.auditLog().map { "\($0.account) \($0.action)" }
        #expect(audit.filter { $0 == "inspector inspection" }.count == 2)
        #expect(audit.contains("e02 inspection-answer") && audit.contains("inspector inspection-close"))
    }

    @Test func theConsolesFormsRecordAnswerAndCloseAnInspection() async throws {
        let site = try await ConsoleAccessTests.Site()
        defer { site.directory.remove() }
        let inspector = try await site.login("inspector")
        let e02 = try await site.login("e02")
        let longhe = try await site.login("longhe")
        let form = [
            "enterprise": "E02", "date": "2026-02-03", "inspectors": "王明、李静", "kind": "on_site",
            "legalBasis": "《中华人民共和国节约能源法》第十六条", "findings": "熟料单耗超过限额", "rectification": "更换窑头燃烧器",
            "deadline": "2026-03-31", "alerts": "",
        ]
        // Without the session's token, from a town, or with a deadline before the day: refused, nothing written.
        #expect(try await site.send("POST", "/inspections", headers: inspector.headers, form: form).status == 403)
        #expect(
            try await site.send("POST", "/inspections", headers: longhe.headers, form: form.merging(["csrf": longhe.csrf]) { $1 }).status
                == 403)
        let early = form.merging(["csrf": inspector.csrf, "deadline": "2026-01-02"]) { $1 }
        #expect(try await site.send("POST", "/inspections", headers: inspector.headers, form: early).status == 400)
        #expect(try await site.store.inspections.list().isEmpty)

        let recorded = try await site.send(
            "POST", "/inspections", headers: inspector.headers, form: form.merging(["csrf": inspector.csrf]) { $1 })
        #expect(recorded.status == 303)
        let location = try #require(recorded.header("Location"))
        let stored = try #require(try await site.store.inspections.list().first)
        #expect(location == "/inspections/\(stored.id)" && stored.inspection.inspectors == ["王明", "李静"])
        let listPage = try await site.send("GET", "/inspections", headers: longhe.headers).body
        #expect(listPage.contains(location) && listPage.contains("整改中") && !listPage.contains("id=\"inspection-form\""))
        #expect(try await site.send("GET", "/inspections", headers: inspector.headers).body.contains("id=\"inspection-form\""))

        // The enterprise's page offers the answer, the inspector's the closing; each form moves it on.
        let e02Page = try await site.send("GET", location, headers: e02.headers).body
        #expect(e02Page.contains("value=\"answer\"") && !e02Page.contains("value=\"close\""))
        let answered = try await site.send(
            "POST", location + "/steps", headers: e02.headers, form: ["step": "answer", "text": "已更换燃烧器", "csrf": e02.csrf])
        #expect(answered.status == 303)
        let closed = try await site.send(
            "POST", location + "/steps", headers: inspector.headers, form: ["step": "close", "text": "复查合格", "csrf": inspector.csrf])
        #expect(closed.status == 303)
        let closedPage = try await site.send("GET", location, headers: longhe.headers).body
        #expect(closedPage.contains("已办结") && closedPage.contains("已更换燃烧器") && closedPage.contains("复查合格"))
        #expect(!closedPage.contains("id=\"inspection-step\""))
    }

    @Test func thePlanPageAndAPIShowEachAccountItsOwnEnterprises() async throws {
        let site = try await ConsoleAccessTests.Site()
        defer { site.directory.remove() }
        let inspector = try await site.login("inspector")
        let longhe = try await site.login("longhe")
        func standing(_ session: ConsoleAccessTests.Session) async throws -> [String: Any] {
            let answer = try await site.send("GET", "/api/v1/plan?year=2026", headers: session.headers)
            #expect(answer.status == 200, "\(answer.body)")
            return try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
        }
        func required(_ object: [String: Any], _ figure: String) -> [String] {
            ((object[figure] as? [String: Any])?["total"] as? [String: Any])?["required"] as? [String] ?? []
        }
        let all = try await standing(inspector)
        #expect(required(all, "monitoring") == ["E01", "E02", "E03", "E04", "E05"] && all["year"] as? Int == 2026)
        let town = try await standing(longhe)
        #expect(required(town, "monitoring") == ["E02"] && required(town, "inspection").allSatisfy { $0 == "E02" })
        #expect(try await site.send("GET", "/api/v1/plan?year=twenty", headers: inspector.headers).status == 400)
        let page = try await site.send("GET", "/plan", headers: longhe.headers)
        #expect(page.status == 200 && page.body.contains("监察检查覆盖率") && page.body.contains("id=\"plan-monitoring\""))
        #expect(!page.body.contains("耿车镇"), "a town sees only its own enterprises")
    }
}
