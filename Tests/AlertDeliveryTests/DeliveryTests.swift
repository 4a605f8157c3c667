import AlertDelivery
import EnergyModel
import EnergyStore
import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

/// The outbox delivered by `OutboxSender` to real receivers on loopback: a webhook and robot server (Python's
/// standard library) and an SMTP server (aiosmtpd), over TLS with a certificate of the test's own CA.
@Suite(.serialized) struct DeliveryTests {
    /// Real time, which a test may move forward (past a give-up age, to the end of a digest's hour).
    final class ShiftedClock: Sendable {
        private let shiftMs = Mutex<Int64>(0)
        func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) + shiftMs.withLock { $0 } }
        func advance(byMs delta: Int64) { shiftMs.withLock { $0 += delta } }
    }

    static func record(_ key: String, _ state: AlertState = .raised, kind: AlertKind = .quotaExceeded, severity: AlertSeverity = .critical)
        -> AlertRecord
    {
        AlertRecord(
            time: "2026-02-01T00:30:00+08:00", kind: kind, severity: severity, state: state, key: key,
            enterprise: AlertEnterprise(id: "E02", name: "宿城海螺水泥有限公司", jurisdiction: "龙河镇"), subject: "clinker",
            period: "2026-01", measured: 125, limit: 117, message: "熟料单位产品综合能耗 125.00 kgce/t，超过限定值 117 kgce/t")
    }

    /// A store whose alerts go to `settings`' routes, and a sender of its outbox on a clock the test may move.
    struct Setup {
        let directory: TemporaryDirectory
        let store: EnergyStore
        let sender: OutboxSender
        let clock: ShiftedClock
        let settings: DeliverySettings

        init(_ settings: DeliverySettings) async throws {
            directory = try TemporaryDirectory()
            store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
            let clock = ShiftedClock()
            self.clock = clock
            self.settings = settings
            sender = OutboxSender(
                store: store, settings: settings, nowMs: { clock.nowMs() }, pollInterval: .milliseconds(50),
                logger: Logger(label: "test"))
        }

        func raise(_ records: [AlertRecord]) async throws {
            let settings = self.settings
            try await store.alerts.record(
                raise: records.filter { $0.state == .raised }, clear: records.filter { $0.state == .cleared }, atMs: 0,
                routing: OutboxRouting(nowMs: clock.nowMs(), digestIntervalMs: Int64(settings.digestIntervalSeconds) * 1000) {
                    settings.targets($0.kind, $0.severity, jurisdiction: $0.enterprise.jurisdiction, enterprise: $0.enterprise.id)
                })
        }

        /// Runs the sender while `body` runs.
        func running<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
            let task = Task { await sender.run() }
            defer { task.cancel() }
            let result = try await body()
            task.cancel()
            await task.value
            return result
        }

        func messages(_ state: OutboxMessage.State? = nil) async throws -> [OutboxMessage] {
            try await store.outbox.messages(states: state.map { [$0] } ?? [])
        }
    }

    static func settings(_ channels: [ChannelConfig], routes: [DeliveryRoute]? = nil) -> DeliverySettings {
        DeliverySettings(
            channels: Dictionary(uniqueKeysWithValues: channels.map { ($0.name, $0) }),
            routes: routes ?? [DeliveryRoute(channels: channels.map(\.name))], retryFirstSeconds: 1, retryMaxSeconds: 1)
    }

    @Test func webhookMessagesAreSignedAndEachArrivesOnceThroughFailures() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (certificate, key) = try await makeTestCertificate(in: directory)
        let receiver = try await Receiver(
            "webhook_receiver.py", ["--secret", "s3cret", "--fail", "2", "--cert", certificate, "--key", key],
            log: directory.file("hooks.jsonl"))
        defer { receiver.stop() }
        let channel = ChannelConfig(
            name: "hook", kind: .webhook, url: "https://127.0.0.1:\(receiver.port)/webhook", secret: "s3cret", caFile: certificate)
        let setup = try await Setup(Self.settings([channel]))
        defer { setup.directory.remove() }
        try await setup.raise([Self.record("a"), Self.record("b")])
        try await setup.raise([Self.record("a", .cleared)])
        #expect(try await setup.messages(.pending).count == 3, "queued in the alerts' transactions")
        let delivered = await setup.running {
            await eventually(timeout: .seconds(30)) { (try? await setup.messages(.delivered).count) == 3 }
        }
        #expect(delivered)
        let received = receiver.received
        // Every message once, in the order raised, with the alert's record; the receiver checked each signature.
        #expect(received.count == 3)
        #expect(Set(received.compactMap { $0["id"] as? String }).count == 3)
        let keys = received.compactMap { (($0["payload"] as? [String: Any])?["alerts"] as? [[String: Any]])?.first?["key"] as? String }
        let states = received.compactMap { (($0["payload"] as? [String: Any])?["alerts"] as? [[String: Any]])?.first?["state"] as? String }
        #expect(keys == ["a", "b", "a"])
        #expect(states == ["raised", "raised", "cleared"])
        #expect(
            (received.first?["payload"] as? [String: Any])?["subject"] as? String == "[能耗在线监测] 超限额 · 宿城海螺水泥有限公司（E02，龙河镇） · clinker 2026-01")
        let first = try await setup.messages(.delivered).min { $0.id < $1.id }
        #expect(first?.attempts == 3, "two answers of 500, then delivered")
    }

    @Test func aReceiverDownForAWhileGetsEverythingWhenItComesBack() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // A port that was just free: nothing listens there until the receiver comes back on it.
        let first = try await Receiver("webhook_receiver.py", ["--secret", "k"], log: directory.file("hooks.jsonl"))
        let port = first.port
        first.stop()
        _ = await first.process.waitForExit()
        // AsyncHTTPClient keeps trying to connect until the attempt's time is up: a short one, for two attempts.
        let channel = ChannelConfig(name: "hook", kind: .webhook, url: "http://127.0.0.1:\(port)/webhook", secret: "k", timeoutSeconds: 2)
        let setup = try await Setup(Self.settings([channel]))
        defer { setup.directory.remove() }
        try await setup.raise([Self.record("a"), Self.record("b")])
        try await setup.running { () async throws in
            #expect(await eventually(timeout: .seconds(20)) { (try? await setup.messages().first { $0.attempts >= 2 }) != nil })
            #expect(try await setup.messages(.delivered).isEmpty)
            let back = try await Receiver(
                "webhook_receiver.py", ["--secret", "k", "--port", String(port)], log: directory.file("hooks.jsonl"))
            defer { back.stop() }
            #expect(await eventually(timeout: .seconds(20)) { (try? await setup.messages(.delivered).count) == 2 })
            #expect(
                back.received.compactMap { (($0["payload"] as? [String: Any])?["alerts"] as? [[String: Any]])?.first?["key"] as? String }
                    == ["a", "b"])
        }
    }

    @Test func weComAndDingTalkRobotsGetTheirDocumentedMessagesAndErrcodesAreRetried() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let receiver = try await Receiver(
            "webhook_receiver.py", ["--dingtalk-secret", "SECabc", "--wecom-key", "k1", "--errcode", "2"],
            log: directory.file("robots.jsonl"))
        defer { receiver.stop() }
        let wecom = ChannelConfig(name: "wecom", kind: .wecom, url: "http://127.0.0.1:\(receiver.port)/wecom?key=k1")
        let dingtalk = ChannelConfig(
            name: "dingtalk", kind: .dingtalk, url: "http://127.0.0.1:\(receiver.port)/dingtalk?access_token=t1", secret: "SECabc")
        let setup = try await Setup(Self.settings([wecom, dingtalk]))
        defer { setup.directory.remove() }
        try await setup.raise([Self.record("a")])
        let delivered = await setup.running {
            await eventually(timeout: .seconds(30)) { (try? await setup.messages(.delivered).count) == 2 }
        }
        #expect(delivered)
        let received = receiver.received
        #expect(Set(received.compactMap { $0["endpoint"] as? String }) == ["wecom", "dingtalk"])
        for message in received {
            let text = ((message["payload"] as? [String: Any])?["text"] as? [String: Any])?["content"] as? String ?? ""
            #expect(text.contains("熟料单位产品综合能耗 125.00 kgce/t"))
            #expect(text.hasPrefix("[能耗在线监测] 超限额"))
        }
        let attempts = try await setup.messages(.delivered).map(\.attempts).reduce(0, +)
        #expect(attempts == 4, "two errcode 45009 answers were retried")
    }

    @Test func emailOverStartTLSAndImplicitTLSWithAuthentication() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (certificate, key) = try await makeTestCertificate(in: directory)
        var channels: [ChannelConfig] = []
        var receivers: [Receiver] = []
        defer { receivers.forEach { $0.stop() } }
        for security in [SMTPSecurity.starttls, .tls] {
            let receiver = try await Receiver(
                "smtp_receiver.py", ["--security", security.rawValue, "--cert", certificate, "--key", key, "--password", "pw"],
                log: directory.file("\(security).jsonl"))
            receivers.append(receiver)
            channels.append(
                ChannelConfig(
                    name: "mail-\(security)", kind: .email, caFile: certificate, smtpHost: "127.0.0.1", smtpPort: receiver.port,
                    security: security, username: "energyd", password: "pw", from: "energyd@example.cn",
                    to: ["inspection@example.cn", "longhe@example.cn"]))
        }
        let setup = try await Setup(Self.settings(channels))
        defer { setup.directory.remove() }
        try await setup.raise([Self.record("a")])
        let delivered = await setup.running {
            await eventually(timeout: .seconds(30)) { (try? await setup.messages(.delivered).count) == 2 }
        }
        let errors = try await setup.messages().compactMap(\.lastError)
        #expect(delivered, "\(errors)")
        for receiver in receivers {
            let mail = try #require(receiver.received.first)
            #expect(receiver.received.count == 1)
            #expect(mail["subject"] as? String == "[能耗在线监测] 超限额 · 宿城海螺水泥有限公司（E02，龙河镇） · clinker 2026-01")
            #expect((mail["text"] as? String)?.contains("熟料单位产品综合能耗 125.00 kgce/t") == true)
            #expect(mail["charset"] as? String == "utf-8")
            #expect(mail["bare_lf"] as? Bool == false, "the text part's lines end in CRLF")
            #expect(mail["to"] as? [String] == ["inspection@example.cn", "longhe@example.cn"])
        }
    }

    @Test func aSlowChannelHoldsBackNoOtherAndAGivenUpMessageCanBeRetried() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let slow = try await Receiver("webhook_receiver.py", ["--hang", "100", "--hang-s", "60"], log: directory.file("slow.jsonl"))
        defer { slow.stop() }
        let healthy = try await Receiver("webhook_receiver.py", [], log: directory.file("healthy.jsonl"))
        defer { healthy.stop() }
        let slowChannel = ChannelConfig(
            name: "slow", kind: .wecom, url: "http://127.0.0.1:\(slow.port)/wecom?key=wecom-key", timeoutSeconds: 1)
        let healthyChannel = ChannelConfig(name: "healthy", kind: .wecom, url: "http://127.0.0.1:\(healthy.port)/wecom?key=wecom-key")
        var settings = Self.settings([slowChannel, healthyChannel])
        settings.giveUpAfterSeconds = 2
        let setup = try await Setup(settings)
        defer { setup.directory.remove() }
        try await setup.raise((0..<5).map { Self.record("k\($0)") })
        try await setup.running { () async throws in
            // The healthy channel gets all five while the slow one times out on its first.
            #expect(await eventually(timeout: .seconds(20)) { healthy.received.count == 5 })
            #expect(try await setup.store.outbox.messages(states: [.delivered], channel: "slow").isEmpty)
            // Past the give-up age the slow channel's messages are dead letters, not lost.
            setup.clock.advance(byMs: 3000)
            #expect(
                await eventually(timeout: .seconds(30)) {
                    (try? await setup.store.outbox.messages(states: [.dead], channel: "slow").count) == 5
                })
        }
        let dead = try await setup.store.outbox.messages(states: [.dead], channel: "slow")
        #expect(dead.allSatisfy { $0.lastError != nil && $0.attempts >= 1 }, "each says why it was given up")
        // Retried by hand once the channel works again (here: pointed at the healthy receiver).
        var fixed = settings
        fixed.channels["slow"]!.url = healthyChannel.url
        setup.sender.apply(fixed)
        #expect(try await setup.store.outbox.retryDead(ids: [], nowMs: setup.clock.nowMs()) == 5)
        let revived = await setup.running {
            await eventually(timeout: .seconds(20)) {
                (try? await setup.store.outbox.messages(states: [.delivered], channel: "slow").count) == 5
            }
        }
        #expect(revived)
        #expect(healthy.received.count == 10)
    }

    @Test func lowLevelAlertsOfADigestRouteArriveAsOneMessagePerInterval() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let receiver = try await Receiver("webhook_receiver.py", ["--secret", "k"], log: directory.file("digest.jsonl"))
        defer { receiver.stop() }
        let channel = ChannelConfig(name: "hook", kind: .webhook, url: "http://127.0.0.1:\(receiver.port)/webhook", secret: "k")
        let settings = Self.settings(
            [channel],
            routes: [
                DeliveryRoute(channels: ["hook"], severities: [.critical]),
                DeliveryRoute(channels: ["hook"], severities: [.notice, .warning], digest: true),
            ])
        let setup = try await Setup(settings)
        defer { setup.directory.remove() }
        try await setup.raise([
            Self.record("n1", kind: .dataAnomaly, severity: .notice), Self.record("n2", kind: .meterOffline, severity: .warning),
            Self.record("c1"),
        ])
        try await setup.running { () async throws in
            // The critical one at once; the two others wait for the end of the hour.
            #expect(await eventually(timeout: .seconds(20)) { receiver.received.count == 1 })
            try await Task.sleep(for: .milliseconds(500))
            #expect(receiver.received.count == 1)
            #expect(try await setup.messages(.held).count == 2)
            setup.clock.advance(byMs: 3_600_000)
            #expect(await eventually(timeout: .seconds(20)) { receiver.received.count == 2 })
            // A digest that gathered a single alert is still a digest.
            try await setup.raise([Self.record("n3", kind: .dataAnomaly, severity: .notice)])
            setup.clock.advance(byMs: 3_600_000)
            #expect(await eventually(timeout: .seconds(20)) { receiver.received.count == 3 })
        }
        let digest = try #require(receiver.received[1]["payload"] as? [String: Any])
        #expect(digest["type"] as? String == "digest")
        #expect((digest["alerts"] as? [[String: Any]])?.compactMap { $0["key"] as? String } == ["n1", "n2"])
        #expect((digest["subject"] as? String)?.contains("告警汇总：2 条") == true)
        let single = try #require(receiver.received.last?["payload"] as? [String: Any])
        #expect(single["type"] as? String == "digest")
        #expect((single["alerts"] as? [[String: Any]])?.count == 1)
        #expect(try await setup.messages(.merged).count == 3)
    }
}
