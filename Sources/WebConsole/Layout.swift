import Accounts
import EnergyModel
import EnergyStore
import Foundation
import NIOHTTP1

/// Chinese by default, English when the query or the `lang` cookie says so.
struct Language: Sendable {
    let zh: Bool

    init(_ request: HTTPRequest) {
        zh = (request.query["lang"] ?? request.cookie("lang") ?? "zh") != "en"
    }

    /// The text in the chosen language.
    func t(_ chinese: String, _ english: String) -> String { zh ? chinese : english }
}

/// HTML pieces the pages are made of. Every value shown passes through `escape`.
enum Pages {
    static func html(_ body: String, language: Language, status: HTTPResponseStatus = .ok) -> HTTPAnswer {
        HTTPAnswer(
            status: status, contentType: "text/html; charset=utf-8", body: body,
            headers: [
                ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                (
                    "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; frame-ancestors 'none'"
                ),
            ])
    }

    /// A whole page: head, navigation for the account, the content.
    /// A whole page; the navigation keeps `period` (the one shown), so that moving between pages keeps to it.
    static func document(_ title: String, _ language: Language, principal: Principal?, period: String? = nil, content: String) -> String {
        let l = language
        var nav = ""
        if let principal {
            let keep = period.map { "?period=" + escape($0) } ?? ""
            var links = [
                ("/" + keep, l.t("区域总览", "District")), ("/alerts", l.t("告警", "Alerts")), ("/inspections", l.t("节能监察", "Inspections")),
                ("/plan", l.t("规划目标", "Plan")), ("/report" + keep, l.t("月报", "Monthly report")),
            ]
            if principal.role == .enterprise, let own = principal.account.scope.first {
                links = [
                    ("/enterprises/" + escape(own) + keep, l.t("本企业", "My enterprise")), ("/alerts", l.t("告警", "Alerts")),
                    ("/inspections", l.t("节能监察", "Inspections")),
                ]
            }
            if principal.role == .admin { links.append(("/admin", l.t("账号与审计", "Accounts and audit"))) }
            nav =
                "<nav>" + links.map { "<a href=\"\($0.0)\">\(escape($0.1))</a>" }.joined()
                + "<span class=\"who\">\(escape(principal.account.name))（\(escape(roleName(principal.role, l)))）</span>"
                + "<form method=\"post\" action=\"/logout\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"\(escape(principal.csrf ?? ""))\">"
                + "<button id=\"logout\">\(l.t("退出", "Log out"))</button></form>"
                + "<a class=\"lang\" href=\"?lang=\(l.zh ? "en" : "zh")\">\(l.zh ? "English" : "中文")</a></nav>"
        }
        return """
            <!DOCTYPE html>
            <html lang="\(l.zh ? "zh-CN" : "en")"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · \(l.t("能耗在线监测", "Energy monitoring"))</title><link rel="stylesheet" href="/console.css"></head>
            <body><header><span class="brand">\(l.t("重点用能单位能耗在线监测", "Energy monitoring of key energy users"))</span>\(nav)</header>
            <main><h1>\(escape(title))</h1>\(content)</main></body></html>
            """
    }

    static func roleName(_ role: Role, _ l: Language) -> String {
        switch role {
        case .inspector: l.t("节能监察", "inspector")
        case .jurisdiction: l.t("镇/园区", "town/park")
        case .enterprise: l.t("企业", "enterprise")
        case .admin: l.t("管理员", "admin")
        }
    }

    static func login(_ l: Language, error: String?, next: String?, csrf: String) -> String {
        document(
            l.t("登录", "Log in"), l, principal: nil,
            content: """
                \(error.map { "<p class=\"error\" id=\"login-error\">\(escape($0))</p>" } ?? "")
                <form method="post" action="/login" class="login">
                <input type="hidden" name="next" value="\(escape(next ?? "/"))">
                <input type="hidden" name="csrf" value="\(escape(csrf))">
                <label>\(l.t("账号", "Account")) <input name="account" id="account" autocomplete="username" required></label>
                <label>\(l.t("密码", "Password")) <input name="password" id="password" type="password" autocomplete="current-password" required></label>
                <button id="login">\(l.t("登录", "Log in"))</button></form>
                <p><a href="/login?lang=\(l.zh ? "en" : "zh")">\(l.zh ? "English" : "中文")</a></p>
                """)
    }

    static func error(_ l: Language, _ error: WebError) -> String {
        document(
            "\(error.status.code) \(error.status.reasonPhrase)", l, principal: nil,
            content: "<p class=\"error\">\(escape(error.message))</p><p><a href=\"/\">\(l.t("返回首页", "Back to the overview"))</a></p>")
    }

    /// A table; cells are HTML already (escape values before passing them).
    static func table(_ header: [String], _ rows: [[String]], id: String? = nil, numeric: Set<Int> = []) -> String {
        var html = "<table\(id.map { " id=\"\($0)\"" } ?? "")><thead><tr>"
        html += header.enumerated().map { "<th\(numeric.contains($0.offset) ? " class=\"num\"" : "")>\(escape($0.element))</th>" }.joined()
        html += "</tr></thead><tbody>"
        for row in rows {
            html +=
                "<tr>" + row.enumerated().map { "<td\(numeric.contains($0.offset) ? " class=\"num\"" : "")>\($0.element)</td>" }.joined()
                + "</tr>"
        }
        return html + "</tbody></table>"
    }

    /// The period chooser: a month, a year, or any range the reports take.
    static func periodForm(_ l: Language, period: String, action: String, extra: [String: String] = [:]) -> String {
        let hidden = extra.sorted { $0.key < $1.key }.map {
            "<input type=\"hidden\" name=\"\(escape($0.key))\" value=\"\(escape($0.value))\">"
        }.joined()
        return """
            <form method="get" action="\(escape(action))" class="period">\(hidden)
            <label>\(l.t("期间", "Period")) <input name="period" id="period" value="\(escape(period))" placeholder="2026-01 / 2026 / 2026-01-01..2026-02-01"></label>
            <button>\(l.t("查询", "Show"))</button></form>
            """
    }

    static let styleSheet = """
        body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",sans-serif;margin:0;color:#222;background:#fafafa}
        header{background:#1f4e79;color:#fff;padding:8px 16px;display:flex;flex-wrap:wrap;align-items:center;gap:16px}
        header a{color:#fff;margin-right:12px;text-decoration:none}header .brand{font-weight:bold}
        nav{display:flex;align-items:center;flex-wrap:wrap;gap:4px}nav .who{margin:0 8px;opacity:.85}
        main{padding:12px 24px;max-width:1200px}h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
        table{border-collapse:collapse;margin:8px 0;background:#fff}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
        th{background:#eef3f8}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
        .bad{color:#b00020;font-weight:bold}.good{color:#2e7d32}.error{color:#b00020}
        .chart{width:100%;max-width:760px;height:auto;background:#fff;border:1px solid #ddd;display:block;margin:8px 0}
        .strip{max-width:760px}form.inline{display:inline}form.period,form.filters{margin:8px 0}
        form.login{display:flex;flex-direction:column;gap:8px;max-width:320px}
        .figures span{display:inline-block;margin-right:24px;font-size:1.1em}
        @media print{header nav,form,button{display:none}body{background:#fff}main{padding:0}}
        """
}
