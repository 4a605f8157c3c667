import Foundation
import Testing

@testable import EnergyModel

/// `[delivery]`, `[channels.NAME]` and `[[routes]]`: read, checked with FILE:LINE errors, and routing decided.
@Suite struct DeliveryConfigurationTests {
    func load(_ text: String) -> (EnergyConfiguration?, [String]) { loadOnValidBase(text) }

    func line(of needle: String, in text: String) -> Int { lineOnValidBase(of: needle, in: text) }

    @Test func channelsRoutesAndTheMonthlyReportAreRead() throws {
        let (configuration, errors) = load(
            """
            [delivery]
            give_up_after_h = 24
            digest_interval_s = 600
            monthly_report = ["team-mail"]
            title = "宿城区能耗在线监测"

            [channels.longhe-wecom]
            type = "wecom"
            url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"

            [channels.team-mail]
            type = "email"
            smtp_host = "smtp.example.cn"
            security = "tls"
            username = "energyd"
            password = "pw"
            from = "energyd@example.cn"
            to = ["inspection@example.cn"]

            [[routes]]
            channels = ["longhe-wecom", "team-mail"]
            kinds = ["quota_exceeded", "quota_early_warning"]
            jurisdictions = ["j"]

            [[routes]]
            channels = ["team-mail"]
            levels = ["notice"]
            digest = true
            """)
        #expect(errors == [])
        let delivery = try #require(configuration?.delivery)
        #expect(delivery.giveUpAfterSeconds == 86_400 && delivery.digestIntervalSeconds == 600 && delivery.title == "宿城区能耗在线监测")
        #expect(delivery.channels["team-mail"]?.smtpPort == 465, "implicit TLS defaults to port 465")
        #expect(delivery.monthlyReportChannels == ["team-mail"])
        // An over-quota alert of town j: both channels, directly.
        #expect(
            delivery.targets(.quotaExceeded, .critical, jurisdiction: "j", enterprise: "E").map(\.channel) == ["longhe-wecom", "team-mail"])
        #expect(delivery.targets(.quotaExceeded, .critical, jurisdiction: "j", enterprise: "E").allSatisfy { !$0.digest })
        // A notice: the mailbox's digest only; another town's over-quota alert: nothing.
        #expect(
            delivery.targets(.dataAnomaly, .notice, jurisdiction: "j", enterprise: "E") == [
                DeliveryTarget(channel: "team-mail", digest: true)
            ])
        #expect(delivery.targets(.quotaExceeded, .critical, jurisdiction: "other", enterprise: "E").isEmpty)
    }

    @Test func mistakesAreReportedWithFileLineAndKey() {
        let text = """
            [delivery]
            monthly_report = ["hook", "nobody"]

            [channels.hook]
            type = "webhook"
            url = "ftp://example.cn/x"

            [channels.bot]
            type = "dingtalk"
            url = "https://oapi.dingtalk.com/robot/send"

            [channels.mail]
            type = "email"
            smtp_host = "smtp.example.cn"
            security = "none"
            from = "energyd"
            to = []

            [[routes]]
            channels = ["hook", "gone"]
            kinds = ["quota_exceded"]
            levels = ["urgent"]
            jurisdictions = ["龙河镇"]
            enterprises = ["E9"]
            """
        let (_, errors) = load(text)
        let expected = [
            "main.toml:\(line(of: "monthly_report", in: text)): delivery.monthly_report: channel \"hook\" is a webhook; the workbook goes by e-mail",
            "main.toml:\(line(of: "monthly_report", in: text)): delivery.monthly_report: unknown channel \"nobody\"",
            "main.toml:\(line(of: "[channels.hook]", in: text)): channels.hook.secret: missing; set secret or secret_file",
            "main.toml:\(line(of: "ftp://", in: text)): channels.hook.url: \"ftp://example.cn/x\": only https (or http on a trusted network) is supported",
            "main.toml:\(line(of: "robot/send", in: text)): channels.bot.url: a DingTalk robot's URL carries its access token (…/robot/send?access_token=…)",
            "main.toml:\(line(of: "security = \"none\"", in: text)): channels.mail.security: \"none\" sends mail (and its password) unencrypted; it is allowed only to a relay on this machine",
            "main.toml:\(line(of: "from = \"energyd\"", in: text)): channels.mail.from: \"energyd\" is not an e-mail address",
            "main.toml:\(line(of: "to = []", in: text)): channels.mail.to: needs at least one recipient",
            "main.toml:\(line(of: "\"gone\"", in: text)): routes[0].channels: unknown channel \"gone\"",
            "main.toml:\(line(of: "quota_exceded", in: text)): routes[0].kinds: \"quota_exceded\" is not an alert kind",
            "main.toml:\(line(of: "urgent", in: text)): routes[0].levels: \"urgent\" is not one of \"critical\", \"warning\", \"notice\"",
            "main.toml:\(line(of: "龙河镇", in: text)): routes[0].jurisdictions: no enterprise is in \"龙河镇\"",
            "main.toml:\(line(of: "E9", in: text)): routes[0].enterprises: unknown enterprise \"E9\"",
        ]
        for message in expected {
            #expect(errors.contains { $0.hasPrefix(message) }, "\(message)\nnot in:\n\(errors.joined(separator: "\n"))")
        }
        #expect(errors.count == expected.count, "\(errors.joined(separator: "\n"))")
    }

    @Test func aSecretFileMustBeReadableByTheServiceUserOnly() throws {
        let directory = NSTemporaryDirectory() + "/secrets-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let secret = directory + "/hook.secret"
        try "s3cret\n".write(toFile: secret, atomically: true, encoding: .utf8)
        let text = """
            [channels.hook]
            type = "webhook"
            url = "https://example.cn/hook"
            secret_file = "\(secret)"
            """
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: secret)
        let (_, errors) = load(text)
        #expect(
            errors == [
                "main.toml:\(line(of: "secret_file", in: text)): channels.hook.secret_file: \(secret) is readable by every user; a secret's file must not be (chmod 600 or 640)"
            ])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret)
        let (configuration, none) = load(text)
        #expect(none == [])
        #expect(configuration?.delivery.channels["hook"]?.secret == "s3cret", "read without its newline")
    }

    @Test func httpsNeedsACertificateAndAKeyOnlyTheServiceUserReads() throws {
        let directory = NSTemporaryDirectory() + "/tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (certificate, key) = (directory + "/cert.pem", directory + "/key.pem")
        try "certificate".write(toFile: certificate, atomically: true, encoding: .utf8)
        try "key".write(toFile: key, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: key)
        let text = "\n[daemon]\nhttp_tls_cert_file = \"\(certificate)\"\nhttp_tls_key_file = \"\(key)\"\n"
        #expect(
            load(text).1 == [
                "main.toml:\(line(of: "http_tls_key_file", in: text)): daemon.http_tls_key_file: \(key) is readable by every user; a private key's file must not be (chmod 600 or 640)"
            ])
        let alone = "\n[daemon]\nhttp_tls_cert_file = \"\(certificate)\"\n"
        #expect(
            load(alone).1 == [
                "main.toml:\(line(of: "[daemon]", in: alone)): daemon.http_tls_key_file: HTTPS needs both http_tls_cert_file and http_tls_key_file"
            ])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
        let (configuration, none) = load(text)
        #expect(none == [] && configuration?.daemon.httpTLS?.keyFile == key)
    }

    @Test func retriesDoubleUpToTheirCap() {
        let settings = DeliverySettings(retryFirstSeconds: 10, retryMaxSeconds: 300)
        #expect((1...7).map { settings.retryDelaySeconds(afterAttempts: $0) } == [10, 20, 40, 80, 160, 300, 300])
        #expect(settings.retryDelaySeconds(afterAttempts: 10_000) == 300)
    }
}
