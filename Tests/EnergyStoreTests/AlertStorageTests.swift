import EnergyModel
import EnergyStore
import Foundation
import TestSupport
import Testing

@Suite struct AlertStorageTests {
    func record(_ key: String, _ state: AlertState, _ time: String) -> AlertRecord {
        AlertRecord(
            time: time, kind: .meterOffline, severity: .warning, state: state, key: key,
            enterprise: AlertEnterprise(id: "E1", name: "企业", jurisdiction: "陈集镇"), subject: "m1", period: time,
            message: state == .raised ? "离线" : "恢复")
    }

    @Test func anAlertSurvivesARestartAndIsNotRaisedTwice() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("energy.sqlite")
        do {
            let store = try await EnergyStore.open(path: path)
            try await store.alerts.record(raise: [record("k1", .raised, "t1")], clear: [], atMs: 1000)
            #expect(try await store.alerts.openKeys() == ["k1"])
        }
        // A new process on the same file.
        let store = try await EnergyStore.open(path: path)
        #expect(try await store.alerts.openKeys() == ["k1"])
        try await store.alerts.record(raise: [record("k1", .raised, "t2"), record("k2", .raised, "t2")], clear: [], atMs: 2000)
        #expect(try await store.alerts.list(openOnly: true).count == 2, "k1 stays one alert")
        try await store.alerts.record(raise: [], clear: [record("k1", .cleared, "t3")], atMs: 3000)
        #expect(try await store.alerts.openKeys() == ["k2"])
        // Raised again after clearing: a second alert.
        try await store.alerts.record(raise: [record("k1", .raised, "t4")], clear: [], atMs: 4000)
        let all = try await store.alerts.list(openOnly: false)
        #expect(all.count == 3)
        #expect(all.last?.cleared?.message == "恢复")
    }

    @Test func eachRaiseAndClearIsLoggedOnceInOrder() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        try await store.alerts.record(raise: [record("k1", .raised, "t1")], clear: [], atMs: 1000)
        try await store.alerts.record(raise: [record("k2", .raised, "t2")], clear: [record("k1", .cleared, "t2")], atMs: 2000)
        let pending = try await store.alerts.pendingLogLines()
        // By time, then by alert: k1's raise and clear, then k2's raise.
        #expect(pending.map(\.state) == [.raised, .cleared, .raised])
        #expect(pending.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.line.utf8))) != nil })
        try await store.alerts.markLogged(pending)
        #expect(try await store.alerts.pendingLogLines().isEmpty)
    }

    @Test func productionEnteredByHandReplacesTheDaysFigure() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        try await store.production.set(enterprise: "E1", product: "clinker", dayMs: 0, quantity: 10, source: "a")
        try await store.production.set(enterprise: "E1", product: "clinker", dayMs: 0, quantity: 12, source: "b")
        try await store.production.set(enterprise: "E1", product: "clinker", dayMs: 86_400_000, quantity: 5, source: "b")
        #expect(
            try await store.production.byDay(enterprise: "E1", product: "clinker", fromMs: 0, toMs: 2 * 86_400_000) == [
                0: 12, 86_400_000: 5,
            ])
    }
}

@Suite struct AlertHandlingStorageTests {
    @Test func anActionChangesTheHandlingAndIsKeptInTheHistory() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        let record = AlertRecord(
            time: "t", kind: .meterOffline, severity: .warning, state: .raised, key: "k",
            enterprise: AlertEnterprise(id: "E1", name: "企业", jurisdiction: "镇"),
            subject: "m", period: "p", message: "离线")
        try await store.alerts.record(raise: [record], clear: [], atMs: 1)
        let id = try #require(try await store.alerts.list(openOnly: true).first?.id)
        #expect(try await store.alerts.withIDs([id]).first?.handling == .new)
        let acted = try await store.alerts.act(.acknowledge, on: id, by: "inspector", role: .inspector, text: "", atMs: 2)
        #expect(acted.handling == .acknowledged)
        let history = try await store.alerts.history(of: id)
        #expect(history.map(\.action) == [.acknowledge])
    }
}
