import Accounts
import EnergyModel
import EnergyStore
import Foundation
import NIOHTTP1

/// What a handler is given: the request, the segments at its template's `*`s and the reader's language.
struct Call: Sendable {
    let request: HTTPRequest
    let parameters: [String]
    let language: Language

    /// The first `*` of the template (an enterprise's or a meter's id).
    var id: String { parameters[0] }
}

/// One route of the console and the API: a method, a path template ("api/v1/enterprises/*/meters") and what answers
/// it. The table is the one list of routes: requests are matched against it, and a 405's Allow header is read from it.
struct Route: Sendable {
    enum Handler: Sendable {
        /// Answered before anyone is signed in: the login page and the style sheet.
        case open(@Sendable (WebConsole, Call) async throws -> HTTPAnswer)
        /// Answered for a signed-in account only.
        case signedIn(@Sendable (WebConsole, Call, Principal) async throws -> HTTPAnswer)
    }

    let method: HTTPMethod
    let template: [Substring]
    let handler: Handler

    init(_ method: HTTPMethod, _ template: String, _ handler: Handler) {
        self.method = method
        self.template = template.split(separator: "/", omittingEmptySubsequences: true)
        self.handler = handler
    }

    /// The segments at the template's `*`s when `path` fits the template, whatever the method.
    func parameters(_ path: [String]) -> [String]? {
        guard template.count == path.count else { return nil }
        var captures: [String] = []
        for (part, segment) in zip(template, path) {
            if part == "*" {
                captures.append(segment)
            } else if part != segment {
                return nil
            }
        }
        return captures
    }

    var isOpen: Bool {
        if case .open = handler { true } else { false }
    }
}

/// The routes a path fits, and the one of them for the request's method.
struct RouteMatch {
    let route: Route?
    let parameters: [String]
    /// The methods the path has routes for (a 405's Allow header).
    let allowed: [HTTPMethod]

    init(_ routes: [Route], method: HTTPMethod, path: [String]) {
        let fitting = routes.compactMap { route in route.parameters(path).map { (route, $0) } }
        // HEAD is answered as GET (the server leaves the body out).
        let chosen = fitting.first { $0.0.method == (method == .HEAD ? .GET : method) }
        route = chosen?.0
        parameters = chosen?.1 ?? []
        allowed = fitting.map(\.0.method)
    }
}

extension WebConsole {
    /// Every page and API route (documented in README.md and openapi.yaml).
    static let routes: [Route] =
        [
            Route(
                .GET, "console.css",
                .open { _, _ in
                    HTTPAnswer(
                        status: .ok, contentType: "text/css; charset=utf-8", body: Pages.styleSheet,
                        headers: [("Cache-Control", "max-age=3600")])
                }),
            Route(
                .GET, "login",
                .open { console, call in console.loginPage(call.language, error: nil, next: sameSitePath(call.request.query["next"])) }),
            Route(.POST, "login", .open { console, call in await console.login(call.request, language: call.language) }),
            Route(.POST, "logout", .signedIn { console, call, principal in try await console.logout(call.request, principal) }),
            // Pages.
            Route(.GET, "", .signedIn { console, call, principal in try await console.home(call, principal) }),
            Route(
                .GET, "report",
                .signedIn { console, call, principal in
                    guard principal.role != .enterprise else { throw WebError.forbidden }
                    return Pages.html(
                        try await console.districtReport(call.request, principal, call.language, console.configuration()),
                        language: call.language)
                }),
            Route(
                .GET, "enterprises/*",
                .signedIn { console, call, principal in
                    let configuration = console.configuration()
                    let enterprise = try console.enterprise(call.id, for: principal, in: configuration)
                    return Pages.html(
                        try await console.enterprisePage(enterprise, call.request, principal, call.language, configuration),
                        language: call.language)
                }),
            Route(
                .POST, "enterprises/*/production",
                .signedIn { console, call, principal in try await console.productionForm(call, principal) }),
            Route(
                .POST, "enterprises/*/entries",
                .signedIn { console, call, principal in try await console.entryForm(call, principal) }),
            Route(
                .POST, "enterprises/*/output-value",
                .signedIn { console, call, principal in try await console.outputValueForm(call, principal) }),
            Route(
                .GET, "meters/*",
                .signedIn { console, call, principal in
                    let configuration = console.configuration()
                    let (enterprise, meter) = try console.meter(call.id, for: principal, in: configuration)
                    return Pages.html(
                        try await console.meterPage(enterprise, meter, call.request, principal, call.language, configuration),
                        language: call.language)
                }),
            Route(
                .GET, "alerts",
                .signedIn { console, call, principal in
                    Pages.html(
                        try await console.alertsPage(call.request, principal, call.language, console.configuration()),
                        language: call.language)
                }),
            Route(
                .GET, "alerts/*",
                .signedIn { console, call, principal in
                    Pages.html(
                        try await console.alertPage(call.id, principal, call.language, console.configuration()), language: call.language)
                }),
            Route(.POST, "alerts/*/actions", .signedIn { console, call, principal in try await console.alertActionForm(call, principal) }),
            Route(
                .GET, "admin",
                .signedIn { console, call, principal in
                    guard principal.role == .admin else { throw WebError.forbidden }
                    return Pages.html(try await console.adminPage(principal, call.language), language: call.language)
                }),
        ] + inspectionPageRoutes + planRoutes + apiRoutes + inspectionRoutes
}
