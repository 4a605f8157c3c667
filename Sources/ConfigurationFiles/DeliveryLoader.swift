import EnergyModel
import Foundation

/// Reads `[delivery]`, `[channels.NAME]` and `[[routes]]` and checks what they name.
struct DeliveryReader {
    let diagnostics: Diagnostics
    private(set) var settings = DeliverySettings()
    /// Where each route and the monthly report list were written, for the checks that need every enterprise.
    private var routeSections: [(route: DeliveryRoute, file: String, line: Int, key: String, lines: [String: Int])] = []
    private var reportOrigin: (file: String, line: Int, key: String)?

    init(diagnostics: Diagnostics) { self.diagnostics = diagnostics }

    mutating func read(_ root: ConfigSection) {
        if let s = root.section("delivery") { readSettings(s) }
        for (name, s) in root.namedSections("channels") {
            if let channel = readChannel(name, s) { settings.channels[name] = channel }
        }
        for s in root.sectionArray("routes") { readRoute(s) }
    }

    private mutating func readSettings(_ s: ConfigSection) {
        if let v = s.integer("give_up_after_h", range: 1...8760) { settings.giveUpAfterSeconds = v * 3600 }
        if let v = s.integer("retry_first_s", range: 1...3600) { settings.retryFirstSeconds = v }
        if let v = s.integer("retry_max_s", range: 1...86_400) { settings.retryMaxSeconds = v }
        if let v = s.integer("digest_interval_s", range: 60...86_400) { settings.digestIntervalSeconds = v }
        if let v = s.string("title", required: false) { settings.title = v }
        if let v = s.strings("monthly_report") {
            settings.monthlyReportChannels = v
            reportOrigin = (s.file, s.table["monthly_report"]?.line ?? s.line, s.path("monthly_report"))
        }
        s.finish()
        if settings.retryMaxSeconds < settings.retryFirstSeconds { s.report("retry_max_s", "must be at least retry_first_s") }
    }

    private func readChannel(_ name: String, _ s: ConfigSection) -> ChannelConfig? {
        guard let kind: ChannelKind = s.choice("type") else {
            s.finish()
            return nil
        }
        var channel = ChannelConfig(name: name, kind: kind)
        if let v = s.integer("timeout_s", range: 1...300) { channel.timeoutSeconds = v }
        if let v = s.string("ca_file", required: false) {
            channel.caFile = ConfigPaths.resolve(v, besideFile: s.file)
            if !FileManager.default.isReadableFile(atPath: channel.caFile!) { s.report("ca_file", "cannot read \(channel.caFile!)") }
        }
        switch kind {
        case .webhook, .wecom, .dingtalk:
            channel.url = s.secret("url", required: true)
            channel.secret = s.secret("secret", required: kind == .webhook)
            if let url = channel.url, let problem = Self.urlProblem(url, kind: kind) {
                s.report(s.table["url"] != nil ? "url" : "url_file", problem)
            }
        case .email:
            channel.smtpHost = s.string("smtp_host")
            channel.security = s.choice("security", required: false) ?? .starttls
            channel.smtpPort = s.integer("smtp_port", range: 1...65535) ?? (channel.security == .tls ? 465 : 587)
            channel.username = s.string("username", required: false)
            channel.password = s.secret("password", required: channel.username != nil)
            channel.from = s.string("from")
            channel.to = s.strings("to") ?? []
            if s.table["to"] == nil { s.report("to", "missing; this key is required") }
            for address in [channel.from].compactMap({ $0 }) + channel.to where !Self.isMailAddress(address) {
                s.report(channel.to.contains(address) ? "to" : "from", "\"\(address)\" is not an e-mail address")
            }
            if s.table["to"] != nil, channel.to.isEmpty { s.report("to", "needs at least one recipient") }
            if channel.security == .none, let host = channel.smtpHost, !["127.0.0.1", "::1", "localhost"].contains(host) {
                s.report("security", "\"none\" sends mail (and its password) unencrypted; it is allowed only to a relay on this machine")
            }
        }
        s.finish()
        return channel
    }

    private mutating func readRoute(_ s: ConfigSection) {
        var lines: [String: Int] = [:]
        for key in ["channels", "kinds", "levels", "jurisdictions", "enterprises"] { lines[key] = s.table[key]?.line ?? s.line }
        let channels = s.strings("channels") ?? []
        if s.table["channels"] == nil { s.report("channels", "missing; this key is required") }
        var route = DeliveryRoute(channels: channels)
        for kind in s.strings("kinds") ?? [] {
            if let value = AlertKind(rawValue: kind) {
                route.kinds.insert(value)
            } else {
                s.report("kinds", "\"\(kind)\" is not an alert kind (\(AlertKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        for level in s.strings("levels") ?? [] {
            if let value = AlertSeverity(rawValue: level) {
                route.severities.insert(value)
            } else {
                s.report("levels", "\"\(level)\" is not one of \"critical\", \"warning\", \"notice\"")
            }
        }
        route.jurisdictions = Set(s.strings("jurisdictions") ?? [])
        route.enterprises = Set(s.strings("enterprises") ?? [])
        route.digest = s.boolean("digest") ?? false
        s.finish()
        settings.routes.append(route)
        routeSections.append((route, s.file, s.line, s.keyPath, lines))
    }

    /// Checks the names routes and the monthly report use against the channels and enterprises defined.
    func check(enterprises: [EnterpriseConfig]) {
        let towns = Set(enterprises.map(\.jurisdiction))
        let ids = Set(enterprises.map(\.id))
        for (route, file, _, key, lines) in routeSections {
            for channel in route.channels where settings.channels[channel] == nil {
                diagnostics.report(file, lines["channels"]!, key + ".channels", "unknown channel \"\(channel)\"")
            }
            if route.channels.isEmpty { diagnostics.report(file, lines["channels"]!, key + ".channels", "needs at least one channel") }
            for town in route.jurisdictions.sorted() where !towns.contains(town) {
                diagnostics.report(file, lines["jurisdictions"]!, key + ".jurisdictions", "no enterprise is in \"\(town)\"")
            }
            for id in route.enterprises.sorted() where !ids.contains(id) {
                diagnostics.report(file, lines["enterprises"]!, key + ".enterprises", "unknown enterprise \"\(id)\"")
            }
        }
        if let origin = reportOrigin {
            for name in settings.monthlyReportChannels {
                if let channel = settings.channels[name] {
                    if channel.kind != .email {
                        diagnostics.report(
                            origin.file, origin.line, origin.key,
                            "channel \"\(name)\" is a \(channel.kind.rawValue); the workbook goes by e-mail")
                    }
                } else {
                    diagnostics.report(origin.file, origin.line, origin.key, "unknown channel \"\(name)\"")
                }
            }
        }
    }

    /// Why `url` cannot be a channel's URL, or nil.
    static func urlProblem(_ url: String, kind: ChannelKind) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), components.host?.isEmpty == false
        else { return "\"\(url)\" is not a URL" }
        guard scheme == "https" || scheme == "http" else { return "\"\(url)\": only https (or http on a trusted network) is supported" }
        switch kind {
        case .wecom where components.queryItems?.contains(where: { $0.name == "key" }) != true:
            return "a WeCom robot's URL carries its key (…/cgi-bin/webhook/send?key=…)"
        case .dingtalk where components.queryItems?.contains(where: { $0.name == "access_token" }) != true:
            return "a DingTalk robot's URL carries its access token (…/robot/send?access_token=…)"
        default: return nil
        }
    }

    /// A plain `local@domain` address (display names go in the message, not here).
    static func isMailAddress(_ text: String) -> Bool {
        guard !text.contains(where: { " <>,;\r\n".contains($0) }) else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && (parts[1].contains(".") || parts[1] == "localhost")
    }
}
