import Foundation

/// How a notification channel is reached.
public enum ChannelKind: String, Sendable, Hashable, CaseIterable {
    /// An HTTPS POST of the alert as JSON, signed with HMAC-SHA256.
    case webhook
    /// A WeCom (企业微信) group robot.
    case wecom
    /// A DingTalk (钉钉) group robot, optionally in signed-request mode.
    case dingtalk
    /// E-mail over SMTP.
    case email
}

/// How an SMTP connection is protected.
public enum SMTPSecurity: String, Sendable, Hashable, CaseIterable {
    /// Plain connection upgraded with STARTTLS (port 587).
    case starttls
    /// TLS from the first byte (port 465).
    case tls
    /// No encryption: allowed only to a server on this machine (a local relay).
    case none
}

/// A `[channels.NAME]` section: where messages of that name go.
public struct ChannelConfig: Sendable, Hashable {
    public var name: String
    public var kind: ChannelKind
    /// The robot's or receiver's URL (webhook, wecom, dingtalk). WeCom and DingTalk URLs carry their key.
    public var url: String?
    /// Webhook: HMAC-SHA256 key; DingTalk: the signing secret (SEC…) of signed-request mode.
    public var secret: String?
    /// PEM file of a certificate authority trusted besides the system's (a private CA).
    public var caFile: String?
    /// Longest an attempt may take before it counts as failed.
    public var timeoutSeconds: Int
    /// E-mail: the SMTP server.
    public var smtpHost: String?
    public var smtpPort: Int
    public var security: SMTPSecurity
    public var username: String?
    public var password: String?
    public var from: String?
    public var to: [String]

    /// A channel with defaults; the loader fills it from TOML.
    public init(
        name: String, kind: ChannelKind, url: String? = nil, secret: String? = nil, caFile: String? = nil, timeoutSeconds: Int = 10,
        smtpHost: String? = nil, smtpPort: Int = 587, security: SMTPSecurity = .starttls, username: String? = nil,
        password: String? = nil, from: String? = nil, to: [String] = []
    ) {
        self.name = name
        self.kind = kind
        self.url = url
        self.secret = secret
        self.caFile = caFile
        self.timeoutSeconds = timeoutSeconds
        self.smtpHost = smtpHost
        self.smtpPort = smtpPort
        self.security = security
        self.username = username
        self.password = password
        self.from = from
        self.to = to
    }
}

/// A `[[routes]]` entry: alerts it matches go to its channels. An empty filter matches everything.
public struct DeliveryRoute: Sendable, Hashable {
    public var channels: [String]
    public var kinds: Set<AlertKind>
    public var severities: Set<AlertSeverity>
    public var jurisdictions: Set<String>
    public var enterprises: Set<String>
    /// Gather the matched alerts into one message per digest interval instead of one message each.
    public var digest: Bool

    /// A route; the loader fills it from TOML.
    public init(
        channels: [String], kinds: Set<AlertKind> = [], severities: Set<AlertSeverity> = [], jurisdictions: Set<String> = [],
        enterprises: Set<String> = [], digest: Bool = false
    ) {
        self.channels = channels
        self.kinds = kinds
        self.severities = severities
        self.jurisdictions = jurisdictions
        self.enterprises = enterprises
        self.digest = digest
    }

    /// Whether an alert of this kind, severity, town/park and enterprise takes this route.
    public func matches(_ kind: AlertKind, _ severity: AlertSeverity, jurisdiction: String, enterprise: String) -> Bool {
        (kinds.isEmpty || kinds.contains(kind)) && (severities.isEmpty || severities.contains(severity))
            && (jurisdictions.isEmpty || jurisdictions.contains(jurisdiction)) && (enterprises.isEmpty || enterprises.contains(enterprise))
    }
}

/// Where an alert's message goes: a channel, alone or in its digest.
public struct DeliveryTarget: Sendable, Hashable {
    public var channel: String
    public var digest: Bool

    public init(channel: String, digest: Bool) {
        self.channel = channel
        self.digest = digest
    }
}

/// The `[delivery]` section with the channels and routes: how alerts and monthly reports reach people.
public struct DeliverySettings: Sendable, Hashable {
    public var channels: [String: ChannelConfig]
    public var routes: [DeliveryRoute]
    /// A message not acknowledged this long after it was queued (or retried by hand) is given up: dead letter.
    public var giveUpAfterSeconds: Int
    /// First pause after a failed attempt; it doubles up to `retryMaxSeconds`.
    public var retryFirstSeconds: Int
    public var retryMaxSeconds: Int
    /// Length of a digest: low-level alerts of a digest route gathered into one message per this many seconds.
    public var digestIntervalSeconds: Int
    /// E-mail channels that receive the district's monthly report workbook once each month has closed.
    public var monthlyReportChannels: [String]
    /// Name of this installation in messages ("宿城区能耗在线监测").
    public var title: String

    /// No channels: alerts stay in the store and the alert log.
    public init(
        channels: [String: ChannelConfig] = [:], routes: [DeliveryRoute] = [], giveUpAfterSeconds: Int = 72 * 3600,
        retryFirstSeconds: Int = 10, retryMaxSeconds: Int = 1800, digestIntervalSeconds: Int = 3600, monthlyReportChannels: [String] = [],
        title: String = "能耗在线监测"
    ) {
        self.channels = channels
        self.routes = routes
        self.giveUpAfterSeconds = giveUpAfterSeconds
        self.retryFirstSeconds = retryFirstSeconds
        self.retryMaxSeconds = retryMaxSeconds
        self.digestIntervalSeconds = digestIntervalSeconds
        self.monthlyReportChannels = monthlyReportChannels
        self.title = title
    }

    /// The channels an alert goes to, each once; a channel that any matching route sends to directly is not
    /// also given the alert in its digest.
    public func targets(_ kind: AlertKind, _ severity: AlertSeverity, jurisdiction: String, enterprise: String) -> [DeliveryTarget] {
        var digestOnly: [String: Bool] = [:]
        var order: [String] = []
        for route in routes where route.matches(kind, severity, jurisdiction: jurisdiction, enterprise: enterprise) {
            for channel in route.channels {
                if digestOnly[channel] == nil { order.append(channel) }
                digestOnly[channel] = (digestOnly[channel] ?? true) && route.digest
            }
        }
        return order.map { DeliveryTarget(channel: $0, digest: digestOnly[$0]!) }
    }

    /// Pause after the `attempts`-th failed attempt: doubling from the first, capped.
    public func retryDelaySeconds(afterAttempts attempts: Int) -> Int {
        let doubled = Double(retryFirstSeconds) * pow(2, Double(max(0, min(attempts - 1, 30))))
        return Int(min(doubled, Double(retryMaxSeconds)))
    }
}
