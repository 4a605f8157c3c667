import Foundation

/// How an upstream destination receives the district's figures.
public enum UpstreamKind: String, Sendable, Hashable, CaseIterable {
    /// A central PostgreSQL database: energyd creates its schema and upserts rows into it.
    case postgres
    /// An HTTPS endpoint that takes JSON batches (POST) and acknowledges each with a 2xx answer.
    case https
}

/// How a PostgreSQL connection is protected.
public enum UpstreamTLS: String, Sendable, Hashable, CaseIterable {
    /// Plain TCP: a database on this machine or a trusted network only.
    case disable
    /// TLS, the server's certificate verified against the system's (or `ca_file`'s) authorities.
    case require
}

/// How an HTTPS request proves it comes from this site.
public enum UpstreamAuth: String, Sendable, Hashable, CaseIterable {
    /// `X-Energy-Signature: sha256=<hex HMAC-SHA256 of timestamp.body>` with a shared secret.
    case hmac
    /// `Authorization: Bearer <token>`.
    case bearer
}

/// The JSON layout an HTTPS destination takes. A provincial platform's own layout goes here as another case once
/// its interface specification is in hand.
public enum UpstreamFormat: String, Sendable, Hashable, CaseIterable {
    /// energy-monitor's documented batches (docs/UPSTREAM.md).
    case energyMonitorV1 = "energy-monitor-v1"
}

/// An `[[upstream]]` entry: one place the district's figures are shipped to, with its own queue and cursor.
public struct UpstreamConfig: Sendable, Hashable {
    /// Unique name; the cursor and the status are kept under it.
    public var name: String
    public var kind: UpstreamKind
    /// PostgreSQL: server, port, database, user and password.
    public var host: String?
    public var port: Int
    public var database: String?
    public var user: String?
    public var password: String?
    /// PostgreSQL: the group role the session acts as (`SET ROLE`), which owns the schema's tables, so that each
    /// site logs in with a role of its own and every site may write and add partitions (docs/UPSTREAM.md).
    public var role: String?
    public var tls: UpstreamTLS
    /// HTTPS: the receiver's URL, how requests authenticate, the layout.
    public var url: String?
    public var auth: UpstreamAuth
    /// HMAC key or bearer token.
    public var secret: String?
    public var format: UpstreamFormat
    /// PEM file of a certificate authority trusted besides the system's.
    public var caFile: String?
    /// Longest a shipment may take before it counts as failed.
    public var timeoutSeconds: Int
    /// Pause between shipping rounds when nothing is waiting.
    public var intervalSeconds: Int
    /// First pause after a failure; it doubles up to `retryMaxSeconds`.
    public var retryFirstSeconds: Int
    public var retryMaxSeconds: Int

    /// A destination with defaults; the loader fills it from TOML.
    public init(
        name: String, kind: UpstreamKind, host: String? = nil, port: Int = 5432, database: String? = nil, user: String? = nil,
        password: String? = nil, role: String? = nil, tls: UpstreamTLS = .disable, url: String? = nil, auth: UpstreamAuth = .hmac,
        secret: String? = nil, format: UpstreamFormat = .energyMonitorV1, caFile: String? = nil, timeoutSeconds: Int = 30,
        intervalSeconds: Int = 60, retryFirstSeconds: Int = 5, retryMaxSeconds: Int = 600
    ) {
        self.name = name
        self.kind = kind
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
        self.role = role
        self.tls = tls
        self.url = url
        self.auth = auth
        self.secret = secret
        self.format = format
        self.caFile = caFile
        self.timeoutSeconds = timeoutSeconds
        self.intervalSeconds = intervalSeconds
        self.retryFirstSeconds = retryFirstSeconds
        self.retryMaxSeconds = retryMaxSeconds
    }

    /// Where the figures go, without secrets: a destination whose target changes starts again from the beginning.
    public var target: String {
        switch kind {
        case .postgres: "postgres://\(user ?? "")@\(host ?? ""):\(port)/\(database ?? "")"
        case .https: url.map { Self.withoutQuery($0) } ?? ""
        }
    }

    /// Pause after the `attempts`-th failed attempt: doubling from the first, capped.
    public func retryDelaySeconds(afterAttempts attempts: Int) -> Int {
        let doubled = Double(retryFirstSeconds) * pow(2, Double(max(0, min(attempts - 1, 30))))
        return Int(min(doubled, Double(retryMaxSeconds)))
    }

    /// A URL without its query, which may carry a key.
    static func withoutQuery(_ url: String) -> String {
        String(url.prefix { $0 != "?" })
    }
}
