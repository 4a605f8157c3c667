import EnergyModel
import EnergyStore
import Foundation
import TestSupport
import Testing

@testable import WebConsole

/// The inspection team works an alert through the API, over real HTTP on the demo district's January: seen,
/// assigned, answered by the enterprise, closed with its disposition; each role only where it may; the history kept.
@Suite(.serialized) struct AlertHandlingTests {
    @Test func anOverQuotaAlertIsAcknowledgedAssignedAnsweredAndClosed() async throws {
        let site = try await ConsoleAccessTests.Site()
        defer { site.directory.remove() }
        let inspector = try await site.login("inspector")
        let longhe = try await site.login("longhe")
        let e02 = try await site.login("e02")
        func alerts(_ session: ConsoleAccessTests.Session, _ query: String) async throws -> [[String: Any]] {
            let answer = try await site.send("GET", "/api/v1/alerts?\(query)", headers: session.headers)
            #expect(answer.status == 200, "\(query): \(answer.body)")
            return (try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: [[String: Any]]])?["alerts"] ?? []
        }
        func enterprises(_ list: [[String: Any]]) -> [String] {
            list.compactMap { (($0["record"] as? [String: Any])?["enterprise"] as? [String: Any])?["id"] as? String }.sorted()
        }
        let all = try await alerts(inspector, "handling=new")
        #expect(enterprises(all) == ["E01", "E02"])
        let e02Alert = try #require(all.first { enterprises([$0]) == ["E02"] }?["id"] as? Int)
        let e01Alert = try #require(all.first { enterprises([$0]) == ["E01"] }?["id"] as? Int)
        func act(_ session: ConsoleAccessTests.Session, _ id: Int, _ json: String) async throws -> ConsoleAccessTests.Answer {
            try await site.send(
                "POST", "/api/v1/alerts/\(id)/actions", headers: session.headers.merging(["X-CSRF-Token": session.csrf]) { $1 }, json: json)
        }

        // Who may not: a town reads only, an enterprise only answers its own, nobody acts on what they cannot see.
        #expect(try await act(longhe, e02Alert, #"{"action":"acknowledge"}"#).status == 403)
        #expect(try await act(e02, e02Alert, #"{"action":"close","text":"自行办结"}"#).status == 403)
        #expect(try await act(e02, e01Alert, #"{"action":"answer","text":"不是我们的"}"#).status == 404)
        #expect(try await act(inspector, e02Alert, #"{"action":"escalate"}"#).status == 400)
        #expect(try await act(inspector, 9999, #"{"action":"acknowledge"}"#).status == 404)
        #expect(try await site.store.alerts.history(of: Int64(e02Alert)).isEmpty, "nothing refused was written")

        // The round.
        #expect(try await act(inspector, e02Alert, #"{"action":"acknowledge"}"#).status == 200)
        let twice = try await act(inspector, e02Alert, #"{"action":"acknowledge"}"#)
        #expect(twice.status == 400 && twice.body.contains("already acknowledged"))
        let toEnterprise = try await act(inspector, e02Alert, #"{"action":"assign","assignee":"e02"}"#)
        #expect(toEnterprise.status == 400 && toEnterprise.body.contains("not an inspector"))
        #expect(try await act(inspector, e02Alert, #"{"action":"assign","assignee":"inspector"}"#).status == 200)
        #expect(enterprises(try await alerts(inspector, "assignee=me")) == ["E02"])
        #expect(enterprises(try await alerts(inspector, "assignee=none")) == ["E01"])
        #expect(try await act(e02, e02Alert, #"{"action":"answer","text":"  "}"#).status == 400)
        let answered = try await act(e02, e02Alert, #"{"action":"answer","text":"已更换窑头燃烧器，2 月起单耗回落"}"#)
        #expect(answered.status == 200 && answered.body.contains(#""handling":"assigned""#), "\(answered.body)")
        #expect(try await act(inspector, e02Alert, #"{"action":"close"}"#).status == 400, "closing needs the disposition")
        let closed = try await act(inspector, e02Alert, #"{"action":"close","text":"现场核查属实，已责令整改并复查合格"}"#)
        #expect(closed.status == 200 && closed.body.contains(#""handling":"closed""#))
        let afterClose = try await act(inspector, e02Alert, #"{"action":"comment","text":"再看看"}"#)
        #expect(afterClose.status == 400 && afterClose.body.contains("closed"))

        // The history, in order, for everyone who sees the enterprise; the filters.
        for session in [longhe, e02] {
            let detail = try await site.send("GET", "/api/v1/alerts/\(e02Alert)", headers: session.headers)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(detail.body.utf8)) as? [String: Any])
            let actions = (object["actions"] as? [[String: Any]] ?? []).map { "\($0["account"] ?? "") \($0["action"] ?? "")" }
            #expect(actions == ["inspector acknowledge", "inspector assign", "e02 answer", "inspector close"], "\(actions)")
            #expect((object["alert"] as? [String: Any])?["disposition"] as? String == "现场核查属实，已责令整改并复查合格")
        }
        #expect(try await site.send("GET", "/api/v1/alerts/\(e01Alert)", headers: longhe.headers).status == 404)
        #expect(enterprises(try await alerts(inspector, "handling=closed")) == ["E02"])
        #expect(try await site.send("GET", "/api/v1/alerts?handling=done", headers: inspector.headers).status == 400)
        let stored = try #require(try await site.store.alerts.withIDs([Int64(e02Alert)]).first)
        #expect(stored.handling == .closed && stored.assignee == "inspector")
        // The console: the closed alert's page shows its history and no form; the other one is acknowledged through
        // its page's form (without the session's token refused), and the alerts page filters by handling.
        let closedPage = try await site.send("GET", "/alerts/\(e02Alert)", headers: longhe.headers)
        #expect(closedPage.status == 200 && closedPage.body.contains("已办结") && closedPage.body.contains("已更换窑头燃烧器"))
        #expect(!closedPage.body.contains("id=\"alert-action\""))
        #expect(try await site.send("GET", "/alerts/\(e01Alert)", headers: longhe.headers).status == 404)
        let e01Page = try await site.send("GET", "/alerts/\(e01Alert)", headers: inspector.headers).body
        #expect(e01Page.contains("id=\"alert-action\"") && e01Page.contains("value=\"acknowledge\""))
        #expect(
            try await site.send("POST", "/alerts/\(e01Alert)/actions", headers: inspector.headers, form: ["action": "acknowledge"]).status
                == 403)
        let viaForm = try await site.send(
            "POST", "/alerts/\(e01Alert)/actions", headers: inspector.headers, form: ["action": "acknowledge", "csrf": inspector.csrf])
        #expect(viaForm.status == 303)
        #expect(try await site.send("GET", "/alerts/\(e01Alert)", headers: inspector.headers).body.contains("已确认"))
        let listed = try await site.send("GET", "/alerts?handling=acknowledged", headers: inspector.headers).body
        #expect(listed.contains("/alerts/\(e01Alert)") && !listed.contains("/alerts/\(e02Alert)\""))

        let audit = try await site.store.accounts.auditLog().map { "\($0.account) \($0.action)" }
        #expect(audit.filter { $0.hasPrefix("inspector alert-") }.count == 4 && audit.contains("e02 alert-answer"))
    }
}
