import EnergyModel
import Foundation

/// Reads `[[upstream]]` entries.
struct UpstreamReader {
    static func read(_ root: ConfigSection) -> [UpstreamConfig] {
        var destinations: [UpstreamConfig] = []
        for s in root.sectionArray("upstream") {
            guard let name = s.string("name"), let kind: UpstreamKind = s.choice("type") else {
                s.finish()
                continue
            }
            if name.contains(where: { !($0.isLetter || $0.isNumber || "-_".contains($0)) }) {
                s.report("name", "\"\(name)\" may hold only letters, digits, - and _")
            }
            if destinations.contains(where: { $0.name == name }) { s.report("name", "another [[upstream]] is named \"\(name)\"") }
            var destination = UpstreamConfig(name: name, kind: kind)
            if let v = s.integer("timeout_s", range: 1...600) { destination.timeoutSeconds = v }
            if let v = s.integer("interval_s", range: 1...86_400) { destination.intervalSeconds = v }
            if let v = s.integer("retry_first_s", range: 1...3600) { destination.retryFirstSeconds = v }
            if let v = s.integer("retry_max_s", range: 1...86_400) { destination.retryMaxSeconds = v }
            if destination.retryMaxSeconds < destination.retryFirstSeconds { s.report("retry_max_s", "must be at least retry_first_s") }
            if let v = s.string("ca_file", required: false) {
                destination.caFile = ConfigPaths.resolve(v, besideFile: s.file)
                if !FileManager.default.isReadableFile(atPath: destination.caFile!) {
                    s.report("ca_file", "cannot read \(destination.caFile!)")
                }
            }
            switch kind {
            case .postgres:
                destination.host = s.string("host")
                destination.port = s.integer("port", range: 1...65535) ?? 5432
                destination.database = s.string("database")
                destination.user = s.string("user")
                destination.password = s.secret("password", required: false)
                destination.role = s.string("role", required: false)
                destination.tls = s.choice("tls", required: false) ?? .disable
                if destination.tls == .disable, let host = destination.host, !["127.0.0.1", "::1", "localhost"].contains(host),
                    !host.hasPrefix("/")
                {
                    s.report(
                        "tls", "\"disable\" sends figures and the password unencrypted; it is allowed only to a database on this machine")
                }
            case .https:
                destination.url = s.string("url")
                destination.auth = s.choice("auth", required: false) ?? .hmac
                destination.secret = s.secret(destination.auth == .hmac ? "secret" : "token", required: true)
                destination.format = s.choice("format", required: false) ?? .energyMonitorV1
                if let url = destination.url, let problem = Self.urlProblem(url) { s.report("url", problem) }
            }
            s.finish()
            destinations.append(destination)
        }
        return destinations
    }

    /// Why `url` cannot be a receiver's URL, or nil.
    static func urlProblem(_ url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), components.host?.isEmpty == false
        else { return "\"\(url)\" is not a URL" }
        if scheme == "https" { return nil }
        if scheme == "http", ["127.0.0.1", "::1", "localhost"].contains(components.host!) { return nil }
        return "\"\(url)\": figures go over https (http only to a receiver on this machine)"
    }
}
