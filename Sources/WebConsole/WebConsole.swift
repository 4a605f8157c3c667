import Accounts
import EnergyModel
import EnergyReports
import EnergyStore
import Foundation
import Logging
import NIOHTTP1
import Synchronization

/// A request the console refuses, with the status it answers.
struct WebError: Error {
    var status: HTTPResponseStatus
    var message: String
    /// Headers the answer needs (Allow for a 405).
    var headers: [(String, String)] = []

    static func notFound(_ what: String) -> Self { WebError(status: .notFound, message: what) }
    static func badRequest(_ why: String) -> Self { WebError(status: .badRequest, message: why) }
    static let forbidden = WebError(status: .forbidden, message: "not allowed for this account")
}

/// The web console (/, /enterprises/…, /meters/…, /alerts, /report, /admin) and the JSON API (/api/v1/…), behind
/// accounts: every path but /login and the style sheet needs a session cookie or an API token.
public final class WebConsole: Sendable {
    let store: EnergyStore
    let configuration: @Sendable () -> EnergyConfiguration
    let logger: Logger
    let limiter = LoginLimiter()
    /// The newest sample's time and when it was read: finding it probes every series, so it is read once a second.
    private let horizon = Mutex<(valueMs: Int64?, readMs: Int64?)>((nil, nil))
    /// Reports and chart series, kept until the rollups behind them change.
    let figures: FigureCache
    /// How long a login lasts.
    let sessionMs: Int64 = 12 * 3_600_000
    /// Real time, for sessions and the audit log (the data may run on a simulated clock).
    let nowMs: @Sendable () -> Int64

    static let sessionCookie = "energy_session"

    public init(
        store: EnergyStore, configuration: @escaping @Sendable () -> EnergyConfiguration, logger: Logger,
        nowMs: @escaping @Sendable () -> Int64 = { SystemWallClock().nowMs() }
    ) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.nowMs = nowMs
        self.figures = FigureCache(nowMs: nowMs)
    }

    /// How far the data reaches (the newest sample's time), at most a second old.
    func newestSampleMs() async throws -> Int64? {
        let now = nowMs()
        if let cached = horizon.withLock({ state in state.readMs.map { now - $0 < 1000 } == true ? state.valueMs : nil }) {
            return cached
        }
        let value = try await store.newestSampleMs()
        horizon.withLock { $0 = (value, now) }
        return value
    }

    /// Computes the district report of the month shown by default, so that the first visitor does not wait for
    /// it (over a thousand enterprises it takes a minute or more).
    public func prepare() async {
        let configuration = configuration()
        guard let period = try? await period([:], calendar: configuration.calendar) else { return }
        _ = try? await districtReport(scopeKey: Principal.wholeDistrict, scoped: configuration, of: configuration, period)
    }

    /// Rollups, alerts or the configuration changed from `fromMs` on: figures covering later times are recomputed.
    public func dataChanged(fromMs: Int64) { figures.changed(fromMs: fromMs) }

    /// The first path segments the console owns; energyd answers the rest (/healthz, /metrics).
    static let ownedRoots: Set<String> = Set(routes.map { $0.template.first.map(String.init) ?? "" })

    /// Answers a console or API request; nil when the path is not the console's.
    public func answer(_ request: HTTPRequest) async -> HTTPAnswer? {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard Self.ownedRoots.contains(segments.first ?? "") else { return nil }
        let isAPI = segments.first == "api"
        let language = Language(request)
        var answer = await answer(request, segments: segments, isAPI: isAPI, language: language)
        if let chosen = request.query["lang"], ["zh", "en"].contains(chosen) {
            answer.headers.append(("Set-Cookie", "lang=\(chosen); Path=/; Max-Age=31536000; SameSite=Lax"))
        }
        return answer
    }

    private func answer(_ request: HTTPRequest, segments: [String], isAPI: Bool, language: Language) async -> HTTPAnswer {
        do {
            let match = RouteMatch(Self.routes, method: request.method, path: segments)
            // A write must come from this site's own pages (or from a client that is no browser, which sends no Origin).
            if request.method == .POST, !Self.isSameOrigin(request) {
                throw WebError(status: .forbidden, message: "cross-site request refused (Origin or Sec-Fetch-Site)")
            }
            let call = Call(request: request, parameters: match.parameters, language: language)
            if case .open(let handler) = match.route?.handler { return try await handler(self, call) }
            guard let principal = try await authenticate(request) else {
                if isAPI { return Self.json(status: .unauthorized, ["error": "log in, or send Authorization: Bearer TOKEN"]) }
                return .seeOther("/login?next=" + Self.formEncode(request.path))
            }
            if request.method == .POST, let expected = principal.csrf {
                let sent = request.header("X-CSRF-Token") ?? request.form["csrf"]
                guard sent == expected else { throw WebError(status: .forbidden, message: "missing or wrong CSRF token") }
            }
            guard let route = match.route, case .signedIn(let handler) = route.handler else {
                guard match.allowed.isEmpty else {
                    throw WebError(
                        status: .methodNotAllowed, message: "\(request.method) is not allowed here",
                        headers: [("Allow", match.allowed.map { "\($0)" }.joined(separator: ", "))])
                }
                throw WebError.notFound(isAPI ? "no API route \(request.method) \(request.path)" : "no page \(request.path)")
            }
            return try await handler(self, call, principal)
        } catch let error as WebError {
            var answer =
                isAPI
                ? Self.json(status: error.status, ["error": error.message])
                : Pages.html(Pages.error(language, error), language: language, status: error.status)
            answer.headers += error.headers
            return answer
        } catch {
            logger.error("console request failed", metadata: ["path": "\(request.path)", "error": "\(error)"])
            if isAPI { return Self.json(status: .internalServerError, ["error": "internal error"]) }
            return Pages.html(
                Pages.error(
                    language,
                    WebError(status: .internalServerError, message: language.t("内部错误，详见 energyd 日志", "internal error; see energyd's log"))),
                language: language, status: .internalServerError)
        }
    }

    // MARK: Accounts

    /// The account of a session cookie or a bearer token.
    func authenticate(_ request: HTTPRequest) async throws -> Principal? {
        if let authorization = request.header("Authorization"), authorization.lowercased().hasPrefix("bearer ") {
            let token = String(authorization.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
            guard let account = try await store.accounts.ofAPIToken(tokenHash: Secrets.tokenHash(token)) else { return nil }
            return Principal(account: account)
        }
        guard let token = request.cookie(Self.sessionCookie),
            let session = try await store.accounts.session(tokenHash: Secrets.tokenHash(token), nowMs: nowMs())
        else { return nil }
        return Principal(account: session.account, csrf: session.csrf)
    }

    /// The login page with a fresh login CSRF token, in the form and in a cookie only this site's pages send back.
    func loginPage(_ language: Language, error: String?, next: String?, status: HTTPResponseStatus = .ok) -> HTTPAnswer {
        let token = Secrets.newToken()
        var answer = Pages.html(Pages.login(language, error: error, next: next, csrf: token), language: language, status: status)
        answer.headers.append(("Set-Cookie", "\(Self.loginCSRFCookie)=\(token); Path=/login; HttpOnly; SameSite=Strict"))
        return answer
    }

    static let loginCSRFCookie = "energy_login_csrf"

    /// `text` when it is a path on this site to go to after logging in, else nil: it starts with one "/", and holds
    /// no backslash and no control character (browsers drop tabs and line breaks, so "/\t/evil.example/" reads as
    /// "//evil.example/", another site; a line break would also split the Location header).
    static func sameSitePath(_ text: String?) -> String? {
        guard let text, text.hasPrefix("/"), !text.hasPrefix("//"),
            text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F && !(0x80...0x9F).contains($0.value) && $0 != "\\" })
        else { return nil }
        return text
    }

    /// Whether a write comes from this site: a browser names the page's origin in `Origin` (and says `cross-site` in
    /// `Sec-Fetch-Site`); scripts with tokens send neither. An origin must be this request's own host.
    static func isSameOrigin(_ request: HTTPRequest) -> Bool {
        if request.header("Sec-Fetch-Site")?.lowercased() == "cross-site" { return false }
        guard let origin = request.header("Origin") else { return true }
        guard let host = request.header("Host"), let url = URLComponents(string: origin), let originHost = url.host else { return false }
        let originAuthority = originHost.lowercased() + (url.port.map { ":\($0)" } ?? "")
        let defaultPort = request.isTLS ? ":443" : ":80"
        let own = host.lowercased().hasSuffix(defaultPort) ? String(host.lowercased().dropLast(defaultPort.count)) : host.lowercased()
        return originAuthority == own || originAuthority + defaultPort == host.lowercased()
    }

    func login(_ request: HTTPRequest, language: Language) async -> HTTPAnswer {
        let form = request.form
        let name = form["account"] ?? ""
        let next = Self.sameSitePath(form["next"]) ?? "/"
        // The login form's own CSRF token: a page elsewhere cannot log a browser into an account of its choosing.
        guard let sent = form["csrf"], !sent.isEmpty, sent == request.cookie(Self.loginCSRFCookie) else {
            return loginPage(
                language, error: language.t("登录页面已过期，请重新登录", "The login page expired; log in again"), next: next, status: .forbidden)
        }
        // A name no account can have is refused at once: neither audited nor counted, so junk cannot fill either.
        guard AccountName.isValid(name) else {
            return loginPage(language, error: language.t("账号或密码错误", "Wrong account or password"), next: next, status: .unauthorized)
        }
        let now = nowMs()
        if let wait = limiter.retryAfter(account: name, address: request.remoteAddress, nowMs: now) {
            try? await store.accounts.audit(
                account: name, action: "login_blocked", detail: "too many failures", remote: request.remoteAddress, atMs: now)
            var answer = loginPage(
                language, error: language.t("登录失败次数过多，请稍后再试", "Too many failed logins; try again later"), next: next,
                status: .tooManyRequests)
            answer.headers.append(("Retry-After", String(wait)))
            return answer
        }
        let account = try? await store.accounts.named(name)
        let matches = await Secrets.verifyPassword(form["password"] ?? "", hash: account?.passwordHash)
        guard let account, matches, !account.disabled else {
            limiter.failed(account: name, address: request.remoteAddress, nowMs: now)
            try? await store.accounts.audit(account: name, action: "login_failed", detail: "", remote: request.remoteAddress, atMs: now)
            return loginPage(language, error: language.t("账号或密码错误", "Wrong account or password"), next: next, status: .unauthorized)
        }
        limiter.succeeded(account: name)
        let token = Secrets.newToken()
        do {
            try await store.accounts.addSession(
                tokenHash: Secrets.tokenHash(token), account: account.name, csrf: Secrets.newToken(), nowMs: now, expiresMs: now + sessionMs
            )
            try await store.accounts.audit(account: account.name, action: "login", detail: "", remote: request.remoteAddress, atMs: now)
        } catch {
            logger.error("cannot store a session", metadata: ["error": "\(error)"])
            return HTTPAnswer(status: .internalServerError, contentType: "text/plain", body: "cannot store the session\n")
        }
        return .seeOther(
            next,
            setCookies: [
                sessionCookie(token, request: request, maxAge: sessionMs / 1000),
                "\(Self.loginCSRFCookie)=; Path=/login; Max-Age=0; HttpOnly; SameSite=Strict",
            ])
    }

    /// HttpOnly and SameSite=Strict always; Secure when the request came over HTTPS (here, or at a reverse proxy).
    func sessionCookie(_ value: String, request: HTTPRequest, maxAge: Int64) -> String {
        let secure = request.isTLS || request.header("X-Forwarded-Proto")?.lowercased() == "https" ? "; Secure" : ""
        return "\(Self.sessionCookie)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict\(secure)"
    }

    // MARK: Helpers shared by pages and API

    /// The period asked for, or the last complete month: the one before the newest reading's, which is still being
    /// read (a month of a day and a half would read as a collapse of the district's consumption).
    func period(_ query: [String: String], calendar: CalendarBuckets) async throws -> ReportPeriod {
        if let text = query["period"], !text.isEmpty {
            guard let period = ReportPeriod(text, calendar: calendar) else {
                throw WebError.badRequest("period \(text) is not YYYY, YYYY-MM, YYYY-MM-DD or FROM..TO")
            }
            return period
        }
        let newest = try await newestSampleMs() ?? nowMs()
        let lastComplete = calendar.start(of: .month, containing: calendar.start(of: .month, containing: newest) - 1)
        let month = String(ISO8601Time.formatLocal(ms: lastComplete, timeZone: calendar.timeZone).prefix(7))
        return ReportPeriod(month, calendar: calendar)!
    }

    /// The enterprise `id`, when the account sees it (an unseen one is answered as unknown).
    func enterprise(_ id: String, for principal: Principal, in configuration: EnergyConfiguration) throws -> EnterpriseConfig {
        guard let enterprise = configuration.enterprises.first(where: { $0.id == id }), principal.sees(enterprise) else {
            throw WebError.notFound("no enterprise \(id)")
        }
        return enterprise
    }

    /// A meter and its enterprise, when the account sees it.
    func meter(_ id: String, for principal: Principal, in configuration: EnergyConfiguration) throws -> (EnterpriseConfig, MeterConfig) {
        for enterprise in configuration.enterprises where principal.sees(enterprise) {
            if let meter = enterprise.meters.first(where: { $0.id == id }) { return (enterprise, meter) }
        }
        throw WebError.notFound("no meter \(id)")
    }

    static func json(status: HTTPResponseStatus = .ok, _ value: some Encodable) -> HTTPAnswer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A figure JSON cannot hold (not a number, infinite) is a fault of ours, said as one, never an empty object.
        guard let encoded = try? encoder.encode(value) else {
            return HTTPAnswer(
                status: .internalServerError, contentType: "application/json; charset=utf-8",
                body: Array(#"{"error":"a figure could not be written as JSON"}"#.utf8), headers: [("Cache-Control", "no-store")])
        }
        let body = Array(encoded)
        return HTTPAnswer(
            status: status, contentType: "application/json; charset=utf-8", body: body,
            headers: [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")])
    }

    static func formEncode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~/"))) ?? ""
    }
}
