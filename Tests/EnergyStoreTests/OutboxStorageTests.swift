import EnergyModel
import EnergyStore
import Foundation
import TestSupport
import Testing

/// The outbox is written in the alert's own transaction: once per raise and per clear, never for an alert that
/// was already open, and kept until delivered and old.
@Suite struct OutboxStorageTests {
    let storage = AlertStorageTests()

    func routing(nowMs: Int64) -> OutboxRouting {
        OutboxRouting(nowMs: nowMs, digestIntervalMs: 3_600_000) { record in
            [DeliveryTarget(channel: "mail", digest: false), DeliveryTarget(channel: "wecom", digest: record.state == .cleared)]
        }
    }

    @Test func eachRaiseAndClearIsQueuedOncePerChannelInTheAlertsTransaction() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        try await store.alerts.record(raise: [storage.record("k1", .raised, "t1")], clear: [], atMs: 1000, routing: routing(nowMs: 5_000))
        // Raised again while open: no new alert, no new message.
        try await store.alerts.record(raise: [storage.record("k1", .raised, "t2")], clear: [], atMs: 2000, routing: routing(nowMs: 6_000))
        #expect(try await store.outbox.messages().count == 2)
        try await store.alerts.record(raise: [], clear: [storage.record("k1", .cleared, "t3")], atMs: 3000, routing: routing(nowMs: 7_000))
        // Clearing an alert that is not open queues nothing.
        try await store.alerts.record(raise: [], clear: [storage.record("k9", .cleared, "t3")], atMs: 3000, routing: routing(nowMs: 7_000))
        let messages = try await store.outbox.messages()
        #expect(messages.count == 4)
        #expect(messages.filter { $0.state == .pending }.map(\.channel).sorted() == ["mail", "mail", "wecom"])
        let held = try #require(messages.first { $0.state == .held })
        #expect(held.channel == "wecom" && held.nextAttemptAtMs == 3_600_000, "a digest is due at the end of its hour")
        // Without routing nothing is queued.
        try await store.alerts.record(raise: [storage.record("k2", .raised, "t4")], clear: [], atMs: 4000)
        #expect(try await store.outbox.messages().count == 4)
        #expect(!(try await store.outbox.instanceName()).isEmpty)
    }

    @Test func deliveredMessagesArePrunedWhenOldAndTheRestStay() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        try await store.alerts.record(
            raise: [storage.record("k1", .raised, "t1"), storage.record("k2", .raised, "t1")], clear: [], atMs: 1000,
            routing: routing(nowMs: 0))
        let mail = try await store.outbox.messages(channel: "mail").sorted { $0.id < $1.id }
        try await store.outbox.markDelivered(mail[0].id, atMs: 10)
        try await store.outbox.markFailed(mail[1].id, error: "HTTP 404", retryAtMs: nil)
        #expect(try await store.outbox.prune(deliveredBeforeMs: 5) == 0, "delivered after the cut-off")
        #expect(try await store.outbox.prune(deliveredBeforeMs: 11) == 1)
        let left = try await store.outbox.messages(channel: "mail")
        #expect(left.map(\.state) == [.dead], "a dead letter stays until retried")
        #expect(try await store.outbox.retryDead(ids: [], nowMs: 20) == 1)
        #expect(try await store.outbox.messages(states: [.pending], channel: "mail").first?.retrySinceMs == 20)
    }
}
