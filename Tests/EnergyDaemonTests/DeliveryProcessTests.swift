import EnergyModel
import EnergyStore
import Foundation
import MeterSimulator
import TestSupport
import Testing

/// energyd delivering its alerts to a real webhook receiver, killed with SIGKILL while the receiver holds a
/// message unacknowledged: after a restart every message arrives, none lost, at most that one twice.
@Suite(.serialized) struct DeliveryProcessTests {
    /// A harness whose configuration has three gateways nobody answers at (three gateway-offline alerts once the
    /// readings have moved on an hour), routed to `receiver`'s webhook.
    static func harnessWithDeadGateways(receiverArguments: [String]) async throws -> (DaemonHarness, Receiver) {
        let scenario = try ScenarioLoader.load(path: demoScenarioPath)
        let harness = try await DaemonHarness.stepped(scenario)
        harness.stepper!.start(speed: 43_200)
        let receiver = try await Receiver("webhook_receiver.py", receiverArguments, log: harness.directory.file("hooks.jsonl"))
        var configuration = harness.simulator.configuration
        let model = try #require(configuration.enterprises.first?.meters.first { $0.energy == .electricity }?.model)
        for index in 1...3 {
            configuration.gateways["dead\(index)"] = GatewayConfig(id: "dead\(index)", host: "127.0.0.1", port: index, timeoutMs: 100)
            configuration.enterprises[0].meters.append(
                MeterConfig(id: "dead-meter-\(index)", gateway: "dead\(index)", unitID: 1, model: model, energy: .electricity))
        }
        try harness.writeConfiguration(configuration)
        let delivery = """

            [delivery]
            retry_first_s = 1
            retry_max_s = 1

            [channels.hook]
            type = "webhook"
            url = "http://127.0.0.1:\(receiver.port)/webhook"
            secret = "s3cret"
            timeout_s = 20

            [[routes]]
            channels = ["hook"]
            kinds = ["gateway_offline"]
            """
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: harness.configPath))
        try file.seekToEnd()
        try file.write(contentsOf: Data(delivery.utf8))
        try file.close()
        return (harness, receiver)
    }

    @Test func killedBetweenSendAndAcknowledgementEveryMessageArrivesAndAtMostOneTwice() async throws {
        let (harness, receiver) = try await Self.harnessWithDeadGateways(receiverArguments: [
            "--secret", "s3cret", "--hang", "1", "--hang-s", "600",
        ])
        defer { Task { await harness.stop() } }
        defer { receiver.stop() }

        let first = try harness.startDaemon()
        // The receiver has the first message and holds its answer back: energyd dies before the acknowledgement.
        #expect(await eventually(timeout: .seconds(60)) { receiver.received.count == 1 }, "\(first.printed.suffix(2000))")
        first.send(SIGKILL)
        _ = await first.waitForExit()

        let second = try harness.startDaemon()
        let store = try await EnergyStore.open(path: harness.databasePath)
        let settled = await eventually(timeout: .seconds(60), interval: .milliseconds(100)) {
            let messages = (try? await store.outbox.messages()) ?? []
            return messages.count == 3 && messages.allSatisfy { $0.state == .delivered }
        }
        // /metrics shows the channel's queue and what this run delivered.
        let line = second.printed.split(separator: "\n").first { $0.contains("serving /healthz") } ?? ""
        let port = try #require(line.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })
        let metrics = try await offThePool { try HTTPGet.get(port: port, path: "/metrics") }.body
        #expect(metrics.contains("energyd_outbox_messages{channel=\"hook\",state=\"delivered\"} 3"), "\(metrics.suffix(1500))")
        #expect(metrics.contains("energyd_outbox_delivered_total{channel=\"hook\"} 3"), "the one held at the crash, and two more")
        second.send(SIGTERM)
        #expect(await second.waitForExit() == 0, "\(second.printed.suffix(2000))")
        // energyctl shows the same.
        let list = try ChildProcess("energyctl", ["outbox", "list", "--database", harness.databasePath, "--format", "json"])
        #expect(await list.waitForExit() == 0)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(list.standardOutput.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["state"] as? String } == ["delivered", "delivered", "delivered"])
        #expect(rows.allSatisfy { $0["channel"] as? String == "hook" && $0["attempts"] is Int && $0["id"] is Int })
        // Times for programs: ISO 8601 with the district's offset.
        #expect(rows.allSatisfy { ($0["delivered"] as? String)?.hasSuffix("+08:00") == true }, "\(rows)")
        let outbox = try await store.outbox.messages().map { "\($0.id) \($0.state) \($0.lastError ?? "")" }
        #expect(settled, "\(outbox)")

        let instance = try await store.outbox.instanceName()
        let delivered = Set(try await store.outbox.messages(states: [.delivered]).map { "\(instance)-\($0.id)" })
        let ids = receiver.received.compactMap { $0["id"] as? String }
        #expect(Set(ids) == delivered, "every message delivered arrived, under its idempotency key")
        // The message held at the crash arrives again under the same key; nothing else twice.
        #expect(ids.count == Set(ids).count + 1, "\(ids)")
        #expect(ids.first == ids.dropFirst().first, "\(ids)")
        let gateways = receiver.received.compactMap {
            (($0["payload"] as? [String: Any])?["alerts"] as? [[String: Any]])?.first?["subject"] as? String
        }
        // Raised once each: the restart neither cleared nor raised them again.
        #expect(Set(gateways) == ["dead1", "dead2", "dead3"])
    }

    /// SIGTERM while a webhook is answering: energyd waits for the answer (within the channel's timeout), records
    /// the delivery and exits 0, so that a restart does not send the message again.
    @Test func aStopWaitsForTheDeliveryInFlight() async throws {
        let (harness, receiver) = try await Self.harnessWithDeadGateways(receiverArguments: [
            "--secret", "s3cret", "--hang", "1", "--hang-s", "3",
        ])
        defer { Task { await harness.stop() } }
        defer { receiver.stop() }
        let daemon = try harness.startDaemon()
        #expect(await eventually(timeout: .seconds(60)) { receiver.received.count == 1 }, "\(daemon.printed.suffix(2000))")
        daemon.send(SIGTERM)
        #expect(await daemon.waitForExit() == 0, "\(daemon.printed.suffix(2000))")
        let store = try await EnergyStore.open(path: harness.databasePath)
        let first = try #require(try await store.outbox.messages().min { $0.id < $1.id })
        #expect(first.state == .delivered, "the answer given after SIGTERM was recorded: \(first.state) \(first.lastError ?? "")")
        #expect(first.attempts == 0 || first.lastError == nil)
    }
}
