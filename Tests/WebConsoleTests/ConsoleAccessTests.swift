import Accounts
import EnergyModel
import EnergyReports
import EnergyStore
import Foundation
import Logging
import MeterSimulator
import NIOHTTP1
import TestSupport
import Testing

@testable import WebConsole

/// The console and API over real HTTP on loopback, on the demo district's January fed into a real store:
/// who may see and do what, sessions, CSRF, the login limit, the audit log, and figures equal to the reports'.
@Suite(.serialized) struct ConsoleAccessTests {
    static let january: Int64 = 1_767_196_800_000  // 2026-01-01T00:00:00+08:00
    static let day: Int64 = 86_400_000
    static let password = "correct horse battery"

    /// A console on a store holding the demo district's January, with one account of each role.
    final class Site: Sendable {
        let directory: TemporaryDirectory
        let store: EnergyStore
        let configuration: EnergyConfiguration
        let http: HTTPService
        let port: Int

        init() async throws {
            let scenario = try ScenarioLoader.load(path: demoScenarioPath)
            let plant = SimulatedPlant(scenario: scenario, clock: ManualClock(startMs: ConsoleAccessTests.january))
            directory = try TemporaryDirectory()
            store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
            configuration = scenario.configuration
            let ids = try await store.registerSeries(for: configuration)
            let samples = PlantFeed.samples(
                plant: plant, seriesIDs: ids, fromMs: january - day, toMs: january + 31 * day + 3 * 3_600_000, missing: { _, _ in false })
            for start in stride(from: 0, to: samples.count, by: 50_000) {
                try await store.insert(Array(samples[start..<min(start + 50_000, samples.count)]))
            }
            try await store.account(calendar: configuration.calendar)
            // One alert in 龙河镇 (E02), one in 宿城经济开发区 (E01).
            let alerts = [("E02", "龙河建材水泥有限公司", "龙河镇"), ("E01", "宿城示范水泥有限公司", "宿城经济开发区")].map {
                AlertRecord(
                    time: "2026-02-01T09:00:00+08:00", kind: .quotaExceeded, severity: .critical, state: .raised,
                    key: "quota_exceeded|\($0.0)", enterprise: AlertEnterprise(id: $0.0, name: $0.1, jurisdiction: $0.2),
                    subject: "clinker", period: "2026-01", message: "\($0.1) 超限额")
            }
            try await store.alerts.record(raise: alerts, clear: [], atMs: january + 31 * day)
            let hash = await Secrets.hashPassword(ConsoleAccessTests.password)
            for (name, role, scope) in [
                ("inspector", Role.inspector, [String]()), ("longhe", .jurisdiction, ["龙河镇"]), ("e02", .enterprise, ["E02"]),
                ("admin", .admin, []),
            ] {
                _ = try await store.accounts.add(StoredAccount(name: name, role: role, scope: scope, passwordHash: hash, createdMs: 0))
            }
            var logger = Logger(label: "console-test")
            logger.logLevel = .critical
            let console = WebConsole(store: store, configuration: { [configuration] in configuration }, logger: logger)
            http = try await HTTPService(host: "127.0.0.1", port: 0, logger: logger) { request in
                await console.answer(request) ?? HTTPAnswer(status: .notFound, contentType: "text/plain", body: "not the console's\n")
            }
            port = try #require(http.port)
        }

        /// Posts the login form as a browser does: the login page first, for its CSRF token and cookie.
        func postLogin(_ account: String, password: String, next: String? = nil, headers: [String: String] = [:]) async throws -> Answer {
            let page = try await send("GET", "/login")
            let cookie = try #require(page.header("Set-Cookie")?.split(separator: ";").first.map(String.init))
            let token = try #require(page.body.firstMatch(of: /name="csrf" value="([0-9a-f]+)"/)?.1)
            var form = ["account": account, "password": password, "csrf": String(token)]
            form["next"] = next
            return try await send("POST", "/login", headers: headers.merging(["Cookie": cookie]) { $1 }, form: form)
        }

        /// Logs in and returns the session cookie and the CSRF token.
        func login(_ account: String, password: String = ConsoleAccessTests.password) async throws -> Session {
            let answer = try await postLogin(account, password: password)
            #expect(answer.status == 303, "\(account): \(answer.status)")
            let cookie = try #require(answer.headers.first { $0.0 == "Set-Cookie" && $0.1.hasPrefix("energy_session=") }?.1)
            let value = String(cookie.split(separator: ";")[0])
            let me = try await send("GET", "/api/v1/me", headers: ["Cookie": value])
            let csrf = try #require(try JSONSerialization.jsonObject(with: Data(me.body.utf8)) as? [String: Any])["csrf"] as? String
            return Session(cookie: value, csrf: try #require(csrf), setCookie: cookie)
        }

        func send(_ method: String, _ path: String, headers: [String: String] = [:], form: [String: String]? = nil, json: String? = nil)
            async throws -> Answer
        {
            var body = ""
            var all = headers
            if let form {
                body = form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(
                    separator: "&")
                all["Content-Type"] = "application/x-www-form-urlencoded"
            } else if let json {
                body = json
                all["Content-Type"] = "application/json"
            }
            let host = all.removeValue(forKey: "Host") ?? "127.0.0.1"
            let head = all.map { "\($0.key): \($0.value)\r\n" }.joined()
            let request =
                "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\(head)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
            let port = self.port
            let text = try await offThePool { try HTTPGet.exchange(port: port, request: request) }
            return try Answer(text)
        }
    }

    struct Session {
        let cookie: String
        let csrf: String
        let setCookie: String
        var headers: [String: String] { ["Cookie": cookie] }
    }

    struct Answer {
        let status: Int
        let headers: [(String, String)]
        let body: String

        init(_ text: String) throws {
            let parts = text.components(separatedBy: "\r\n\r\n")
            let lines = parts[0].components(separatedBy: "\r\n")
            // A connection closed without an answer fails the test that sent it, not the whole run.
            let statusLine = lines[0].split(separator: " ")
            status = try #require(statusLine.count > 1 ? Int(statusLine[1]) : nil, "no HTTP answer: \(text.prefix(200))")
            headers = lines.dropFirst().compactMap { line in
                line.firstIndex(of: ":").map {
                    (String(line[..<$0]), String(line[line.index(after: $0)...]).trimmingCharacters(in: .whitespaces))
                }
            }
            body = parts.dropFirst().joined(separator: "\r\n\r\n")
        }

        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    /// Every path of openapi.yaml with each of its methods, the path parameters filled in.
    static func documentedRoutes() throws -> [(method: String, path: String)] {
        let text = try String(contentsOfFile: packageRoot + "/openapi.yaml", encoding: .utf8)
        var routes: [(String, String)] = []
        var path: String?
        for line in text.components(separatedBy: "\n") {
            if line.hasPrefix("  /api/") {
                path = String(line.dropFirst(2).dropLast()).replacingOccurrences(of: "{id}", with: "E02")
            } else if let current = path, let method = ["get", "post"].first(where: { line == "    \($0):" }) {
                routes.append((method.uppercased(), current))
            }
        }
        return routes
    }

    @Test func everyRouteRefusesAnAnonymousRequest() async throws {
        let site = try await Site()
        defer { site.directory.remove() }
        let routes = try Self.documentedRoutes()
        #expect(routes.count >= 13)
        for (method, path) in routes {
            let answer = try await site.send(
                method, path, json: method == "POST" ? #"{"product":"clinker","date":"2026-01-05","quantity":1}"# : nil)
            #expect(answer.status == 401 && answer.body.contains("error"), "\(method) \(path): \(answer.status)")
        }
        // A wrong token is anonymous too; pages send the browser to the login form.
        #expect(try await site.send("GET", "/api/v1/district", headers: ["Authorization": "Bearer 00"]).status == 401)
        for page in ["/", "/enterprises/E02", "/meters/E02-coal", "/alerts", "/report", "/admin"] {
            let answer = try await site.send("GET", page)
            #expect(answer.status == 303 && answer.header("Location")?.hasPrefix("/login?next=") == true, "\(page): \(answer.status)")
        }
        // Nothing was written by all that.
        #expect(try await site.store.production.entries(enterprise: "E02", fromMs: 0, toMs: .max).isEmpty)
    }

    @Test func oneRouteTableAnswersEachDocumentedMethodAndNamesThemInA405() async throws {
        let site = try await Site()
        defer { site.directory.remove() }
        // The table's API routes are openapi.yaml's, method for method.
        let documented = try Self.documentedRoutes().map { "\($0.method) \($0.path.replacingOccurrences(of: "E02", with: "*"))" }
        let table = WebConsole.routes.filter { $0.template.first == "api" }.map { "\($0.method) /\($0.template.joined(separator: "/"))" }
        #expect(documented.sorted() == table.sorted())
        let inspector = try await site.login("inspector")
        let withToken = inspector.headers.merging(["X-CSRF-Token": inspector.csrf]) { $1 }
        // Any other method on a known path: 405, and Allow names exactly the documented ones.
        let methods = Dictionary(grouping: try Self.documentedRoutes(), by: \.path).mapValues { Set($0.map(\.method)) }
        for (path, allowed) in methods {
            let answer = try await site.send("DELETE", path, headers: withToken)
            #expect(answer.status == 405, "\(path)")
            #expect(Set((answer.header("Allow") ?? "").components(separatedBy: ", ")) == allowed, "\(path): \(answer.headers)")
        }
        // Pages too; HEAD is GET without the body; an unknown path is 404 for pages and the API.
        let post = try await site.send("POST", "/alerts", headers: withToken, form: ["csrf": inspector.csrf])
        #expect(post.status == 405 && post.header("Allow") == "GET")
        let head = try await site.send("HEAD", "/alerts", headers: inspector.headers)
        #expect(head.status == 200 && head.body.isEmpty && Int(head.header("Content-Length") ?? "") ?? 0 > 1000)
        #expect(try await site.send("GET", "/alerts/x", headers: inspector.headers).status == 404)
        #expect(try await site.send("GET", "/api/v1/nothing", headers: inspector.headers).status == 404)
        // Anonymous: the same paths say 401, not which methods exist.
        #expect(try await site.send("DELETE", "/api/v1/alerts").status == 401)
    }

    @Test func eachRoleSeesOnlyWhatItIsFor() async throws {
        let site = try await Site()
        defer { site.directory.remove() }
        let inspector = try await site.login("inspector")
        let longhe = try await site.login("longhe")
        let e02 = try await site.login("e02")
        let admin = try await site.login("admin")
        func status(_ session: Session, _ path: String) async throws -> Int {
            try await site.send("GET", path, headers: session.headers).status
        }
        func enterprises(_ session: Session) async throws -> [String] {
            let body = try await site.send("GET", "/api/v1/enterprises", headers: session.headers).body
            let list =
                try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: [[String: Any]]])["enterprises"] ?? []
            return list.compactMap { $0["id"] as? String }
        }
        #expect(try await enterprises(inspector) == ["E01", "E02", "E03", "E04", "E05"])
        #expect(try await enterprises(longhe) == ["E02"])
        #expect(try await enterprises(e02) == ["E02"])
        // Another town's enterprise, meter and alerts: as if they did not exist, in pages and API.
        for session in [longhe, e02] {
            for path in [
                "/api/v1/enterprises/E01", "/api/v1/enterprises/E01/meters", "/api/v1/meters/E01-main-power/samples", "/enterprises/E01",
                "/meters/E01-main-power",
            ] {
                #expect(try await status(session, path) == 404, "\(path)")
            }
            for path in [
                "/api/v1/enterprises/E02?period=2026-01", "/api/v1/enterprises/E02/meters", "/enterprises/E02?period=2026-01",
                "/meters/E02-coal",
            ] {
                #expect(try await status(session, path) == 200, "\(path)")
            }
            let alerts = try await site.send("GET", "/api/v1/alerts", headers: session.headers).body
            #expect(alerts.contains("E02") && !alerts.contains("E01"))
        }
        #expect(try await status(inspector, "/enterprises/E01?period=2026-01") == 200)
        // Alerts by level: the store's own names, an unknown one refused.
        #expect(try await site.send("GET", "/api/v1/alerts?level=critical", headers: inspector.headers).body.contains("E01"))
        #expect(try await site.send("GET", "/api/v1/alerts?level=notice", headers: inspector.headers).body == #"{"alerts":[]}"#)
        #expect(try await status(inspector, "/api/v1/alerts?level=info") == 400)
        // A town's district report totals its own enterprises only.
        let district = try JSONDecoder().decode(
            DistrictReport.self,
            from: Data(try await site.send("GET", "/api/v1/district?period=2026-01", headers: longhe.headers).body.utf8))
        #expect(district.jurisdictions.map(\.jurisdiction) == ["龙河镇"] && district.total.enterprises == 1)
        #expect(district.total.jurisdiction == "合计", "its own towns' total, not the whole district's")
        // Accounts and the audit log are the admin's; the district report page is not for an enterprise.
        for path in ["/api/v1/audit", "/api/v1/accounts", "/admin"] {
            #expect(try await status(inspector, path) == 403, "\(path)")
            #expect(try await status(admin, path) == 200, "\(path)")
        }
        #expect(try await status(e02, "/report") == 403)
        #expect(try await status(e02, "/") == 303)
    }

    @Test func theFiguresAreTheReports() async throws {
        let site = try await Site()
        defer { site.directory.remove() }
        let inspector = try await site.login("inspector")
        let period = try #require(ReportPeriod("2026-01", calendar: site.configuration.calendar))
        let reports = InspectionReports(store: site.store, configuration: site.configuration)
        let expected = try await reports.district(period: period)
        let served = try JSONDecoder().decode(
            DistrictReport.self,
            from: Data(try await site.send("GET", "/api/v1/district?period=2026-01", headers: inspector.headers).body.utf8))
        #expect(served == expected)
        // The demo district's January, known independently: E02 over its quota, 3 of 4 products at level 2 or better.
        #expect(served.total.overQuota == ["龙河建材水泥有限公司"] && served.total.benchmarkMet == 3 && served.total.benchmarkJudged == 4)
        let page = try await site.send("GET", "/?period=2026-01", headers: inspector.headers).body
        #expect(page.contains("75.0% (3/4)") && page.contains(String(format: "%.1f", expected.total.comprehensiveTce)))
        #expect(page.contains("<svg") && page.contains("龙河建材水泥有限公司"))
        let enterprise = try #require(try await reports.enterprise("E02", period: period))
        let served02 = try JSONDecoder().decode(
            EnterpriseReport.self,
            from: Data(try await site.send("GET", "/api/v1/enterprises/E02?period=2026-01", headers: inspector.headers).body.utf8))
        #expect(served02 == enterprise)
        let clinker = try #require(enterprise.products.first)
        #expect(abs((clinker.unitConsumption ?? 0) - 125) < 0.5)
        let enterprisePage = try await site.send("GET", "/enterprises/E02?period=2026-01", headers: inspector.headers).body
        // The meter page draws the day of readings the API serves for it.
        let meterPage = try await site.send("GET", "/meters/E02-coal", headers: inspector.headers).body
        let samples =
            try JSONSerialization.jsonObject(
                with: Data(try await site.send("GET", "/api/v1/meters/E02-coal/samples", headers: inspector.headers).body.utf8))
            as? [String: Any]
        let sampleCount = ((samples?["points"] as? [[String: Any]])?.first?["samples"] as? [Any])?.count ?? 0
        #expect(sampleCount > 0 && meterPage.contains("<path d=\"M") && meterPage.contains("读数 \(sampleCount)，失败"), "\(sampleCount)")
        #expect(
            enterprisePage.contains(String(format: "%.2f", enterprise.comprehensiveKgce))
                && enterprisePage.contains(String(format: "%.2f", clinker.unitConsumption ?? 0)))
    }

    @Test func sessionsCSRFTheLoginLimitAndTheAuditLog() async throws {
        let site = try await Site()
        defer { site.directory.remove() }
        let e02 = try await site.login("e02")
        #expect(e02.setCookie.contains("HttpOnly") && e02.setCookie.contains("SameSite=Strict"))
        let entry = ["product": "clinker", "date": "2026-01-05", "quantity": "4321.5"]
        // A write without the session's CSRF token is refused and changes nothing; with it, it is recorded and audited.
        #expect(try await site.send("POST", "/enterprises/E02/production", headers: e02.headers, form: entry).status == 403)
        #expect(try await site.store.production.entries(enterprise: "E02", fromMs: 0, toMs: .max).isEmpty)
        var withToken = entry
        withToken["csrf"] = e02.csrf
        #expect(try await site.send("POST", "/enterprises/E02/production", headers: e02.headers, form: withToken).status == 303)
        let stored = try await site.store.production.entries(enterprise: "E02", fromMs: 0, toMs: .max)
        #expect(stored.count == 1 && stored.first?.quantity == 4321.5 && stored.first?.source == "web:e02")
        // An inspector may read it but not write production figures, not even with its own token.
        let inspector = try await site.login("inspector")
        let json = #"{"product":"clinker","date":"2026-01-06","quantity":1}"#
        #expect(
            try await site.send(
                "POST", "/api/v1/enterprises/E02/production", headers: inspector.headers.merging(["X-CSRF-Token": inspector.csrf]) { $1 },
                json: json
            ).status == 403)
        // Five wrong passwords lock the account for a while, even against the right one.
        for _ in 0..<5 {
            #expect(try await site.postLogin("longhe", password: "wrong password").status == 401)
        }
        let locked = try await site.postLogin("longhe", password: Self.password)
        #expect(locked.status == 429 && locked.header("Retry-After") != nil)
        // Logging out ends the session.
        #expect(try await site.send("POST", "/logout", headers: e02.headers, form: ["csrf": e02.csrf]).status == 303)
        #expect(try await site.send("GET", "/api/v1/me", headers: e02.headers).status == 401)
        let actions = try await site.store.accounts.auditLog().map { "\($0.account) \($0.action)" }
        #expect(actions.filter { $0 == "longhe login_failed" }.count == 5)
        #expect(actions.contains("longhe login_blocked") && actions.contains("e02 production") && actions.contains("e02 logout"))
    }

    @Test func apiTokensWorkForScriptsUntilTheAccountIsDisabled() async throws {
        let site = try await Site()
        defer { site.directory.remove() }
        let token = Secrets.newToken()
        try await site.store.accounts.addAPIToken(tokenHash: Secrets.tokenHash(token), account: "e02", label: "test", nowMs: 0)
        let bearer = ["Authorization": "Bearer \(token)"]
        // A script writes without a CSRF token: browsers never send bearer tokens by themselves.
        let posted = try await site.send(
            "POST", "/api/v1/enterprises/E02/production", headers: bearer,
            json: #"{"product":"clinker","date":"2026-01-07","quantity":12.5}"#)
        #expect(posted.status == 200 && posted.body.contains("web:e02"))
        #expect(
            try await site.send(
                "POST", "/api/v1/enterprises/E02/production", headers: bearer,
                json: #"{"product":"cement","date":"2026-01-07","quantity":1}"#
            ).status == 400)
        #expect(try await site.send("GET", "/api/v1/enterprises/E02/production?period=2026-01", headers: bearer).body.contains("12.5"))
        _ = try await site.store.accounts.setDisabled(account: "e02", true)
        #expect(try await site.send("GET", "/api/v1/me", headers: bearer).status == 401)
    }
}
