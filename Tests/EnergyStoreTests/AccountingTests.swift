import EnergyModel
import EnergyStore
import Foundation
import GRDB
import MeterSimulator
import TestSupport
import Testing

/// Accounting in the store: incremental passes as samples land agree exactly with a rebuild from raw samples.
@Suite struct AccountingTests {
    let calendar = CalendarBuckets(timeZone: TimeZone(identifier: "Asia/Shanghai")!)
    let origin: Int64 = 1_767_196_800_000
    let quarter: Int64 = 900_000

    /// An ADW300 (i32 × 0.01 kWh) counter and its power read every 15 minutes for `days`, with a rollover, a
    /// reset, a glitch, a spike, a frozen spell while the power reads non-zero, and an outage; returns the samples
    /// and the true consumption.
    func history(_ series: (counter: Int64, power: Int64), days: Int, seed: UInt64 = 1) -> (samples: [Sample], truth: Double) {
        var random = SplitMix(seed: seed)
        var samples: [Sample] = []
        let wrap = 21_474_836.48
        var counter = wrap - 20_000
        var truth = 0.0
        var frozenAt: Double?
        for index in 0..<(days * 96) {
            let time = origin + Int64(index) * quarter + Int64.random(in: 0...40_000, using: &random)
            let consumed = Double(Int.random(in: 500...1500, using: &random)) / 10
            if index > 0 {
                truth += consumed
                counter = (counter + consumed).truncatingRemainder(dividingBy: wrap)
            }
            if index == 300 { counter = consumed }  // replaced right after the previous read
            frozenAt = (400..<410).contains(index) ? (frozenAt ?? counter) : nil
            let shown = frozenAt ?? counter
            if !(500..<520).contains(index) {
                samples.append(Sample(seriesID: series.power, timestampMs: time, value: consumed * 4, quality: .good))
            }
            let series = series.counter
            switch index {
            case 150: samples.append(Sample(seriesID: series, timestampMs: time, value: 0, quality: .good))
            case 250: samples.append(Sample(seriesID: series, timestampMs: time, value: shown + 900_000, quality: .good))
            case 500..<520: samples.append(Sample(seriesID: series, timestampMs: time, value: nil, quality: .commFail))
            default: samples.append(Sample(seriesID: series, timestampMs: time, value: (shown * 100).rounded() / 100, quality: .good))
            }
        }
        // The glitch and the spike replaced true readings; that energy is still counted by the next ones.
        return (samples, truth)
    }

    func snapshot(_ store: EnergyStore) async throws -> [Row] {
        try store.database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM consumption ORDER BY series, resolution, bucket")
                + Row.fetchAll(db, sql: "SELECT series, ts, kind FROM counter_events ORDER BY series, ts, kind")
        }
    }

    func store(_ directory: TemporaryDirectory) async throws -> (EnergyStore, (counter: Int64, power: Int64)) {
        let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        var configuration = try TestScenarios.grid(gateways: 1, metersPerGateway: 1, models: ["acrel_adw300"]).configuration
        configuration.enterprises[0].meters[0].intervalSeconds = 900
        configuration.enterprises[0].meters[0].maxRatePerHour = 10_000
        let ids = try await store.registerSeries(for: configuration)
        return (store, (ids["g0m0"]!["forward_energy"]!, ids["g0m0"]!["total_power"]!))
    }

    @Test func incrementalPassesAgreeExactlyWithARebuildAndTheTruth() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, series) = try await store(directory)
        let (samples, truth) = history(series, days: 7)
        // Samples land in batches of varying size, accounting running after each.
        var offset = 0
        var random = SplitMix(seed: 2)
        while offset < samples.count {
            let size = Int.random(in: 1...40, using: &random)
            try await store.insert(Array(samples[offset..<min(offset + size, samples.count)]))
            try await store.account(calendar: calendar)
            offset += size
        }
        let incremental = try await snapshot(store)
        let week = try await store.rollups(enterprise: nil, resolution: .day, fromMs: origin, toMs: origin + 7 * 86_400_000)
            .filter { $0.series.id == series.counter }
        let measured = week.map(\.amount).reduce(0, +).units
        // Lost: the old meter's tail before the replacement (unknowable), and the first day's quarter before the
        // first read; everything else is counted.
        #expect(abs(measured - truth) < 200, "measured \(measured) vs truth \(truth)")
        let events = try await store.counterEvents(fromMs: origin, toMs: origin + 7 * 86_400_000).map(\.event.kind)
        #expect(Set(events) == [.rollover, .reset, .glitch, .spike, .frozen, .gap])

        try await store.rebuild(fromMs: origin - 86_400_000, toMs: origin + 8 * 86_400_000, calendar: calendar)
        #expect(try await snapshot(store) == incremental)
    }

    @Test func repeatedAndLateSamplesGiveTheSameResult() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, series) = try await store(directory)
        let (samples, _) = history(series, days: 3)
        let withoutOne = samples.enumerated().filter { $0.offset != 100 }.map(\.element)
        try await store.insert(withoutOne)
        try await store.account(calendar: calendar)
        // The missing reading arrives late, and a batch arrives twice.
        try await store.insert([samples[100]])
        try await store.insert(Array(samples[200..<250]))
        try await store.account(calendar: calendar)
        let incremental = try await snapshot(store)
        try await store.rebuild(fromMs: origin - 86_400_000, toMs: origin + 4 * 86_400_000, calendar: calendar)
        #expect(try await snapshot(store) == incremental)
        // And it is what a store that had every sample from the start computes.
        let other = try TemporaryDirectory()
        defer { other.remove() }
        let (fresh, _) = try await self.store(other)
        try await fresh.insert(samples)
        try await fresh.account(calendar: calendar)
        #expect(try await snapshot(fresh) == incremental)
    }

    @Test func daysAddUpToMonthsAndHoursToDays() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, series) = try await store(directory)
        try await store.insert(history(series, days: 40).samples)
        try await store.account(calendar: calendar)
        let days = try await store.rollups(enterprise: nil, resolution: .day, fromMs: origin, toMs: origin + 31 * 86_400_000)
        let month = try await store.rollups(enterprise: nil, resolution: .month, fromMs: origin, toMs: origin + 1)
        let hours = try await store.rollups(enterprise: nil, resolution: .hour, fromMs: origin, toMs: origin + 31 * 86_400_000)
        let quarters = try await store.rollups(enterprise: nil, resolution: .quarter, fromMs: origin, toMs: origin + 31 * 86_400_000)
        #expect(days.count == 31)
        #expect(month.count == 1)
        #expect(days.map(\.amount).reduce(0, +) == month[0].amount)
        #expect(hours.map(\.amount).reduce(0, +) == month[0].amount)
        #expect(quarters.map(\.amount).reduce(0, +) == month[0].amount)
        #expect(days.map(\.good).reduce(0, +) == month[0].good)
    }

    @Test func aMeterConfiguredToRunContinuouslyIsFrozenWithoutAPowerReading() async throws {
        // An ADL400 has no power register: only the configuration can say its plant never stops.
        for runs in [false, true] {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
            var configuration = try TestScenarios.grid(gateways: 1, metersPerGateway: 1, models: ["acrel_adl400"]).configuration
            configuration.enterprises[0].meters[0].intervalSeconds = 900
            configuration.enterprises[0].meters[0].runsContinuously = runs
            let series = try await store.registerSeries(for: configuration)["g0m0"]!["import_energy"]!
            // 40 kWh a quarter, then standing for five quarters, then the catch-up.
            let values: [Double] = [1000, 1040, 1080, 1080, 1080, 1080, 1080, 1080, 1320, 1360]
            try await store.insert(
                values.enumerated().map {
                    Sample(seriesID: series, timestampMs: origin + Int64($0.offset) * quarter, value: $0.element, quality: .good)
                })
            try await store.account(calendar: calendar)
            let events = try await store.counterEvents(fromMs: origin, toMs: origin + 86_400_000).map(\.event.kind)
            #expect(events == (runs ? [.frozen] : []), "runs_continuously = \(runs)")
        }
    }
}
