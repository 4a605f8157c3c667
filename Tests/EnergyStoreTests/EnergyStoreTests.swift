import EnergyModel
import EnergyStore
import Foundation
import Logging
import MeterSimulator
import TestSupport
import Testing

@Suite struct EnergyStoreTests {
    func configuration() throws -> EnergyConfiguration {
        try TestScenarios.grid(gateways: 2, metersPerGateway: 2).configuration
    }

    /// A new store in `directory` with the grid's series registered, and the first meter's energy series.
    func storeWithOneSeries(in directory: TemporaryDirectory) async throws -> (EnergyStore, Int64) {
        let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        let ids = try await store.registerSeries(for: try configuration())
        return (store, ids["g0m0"]!["import_energy"]!)
    }

    @Test func registersOneSeriesPerMeterPointAndKeepsIDsAcrossRegistrations() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        var configuration = try configuration()
        let first = try await store.registerSeries(for: configuration)
        #expect(first.count == 4)
        #expect(first["g0m0"]?.keys.sorted() == ["export_energy", "import_energy", "total_power", "voltage_a"])
        // Moving a meter to another enterprise keeps its series (keyed by meter and point).
        configuration.enterprises[1].meters.append(configuration.enterprises[0].meters.removeFirst())
        let second = try await store.registerSeries(for: configuration)
        #expect(second == first)
        let series = try await store.allSeries()
        #expect(series.count == 16)
        #expect(series.first { $0.meter == "g0m0" }?.enterprise == "E1")
    }

    @Test func storesSamplesWithQualityAndRepeatedBatchesChangeNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, series) = try await storeWithOneSeries(in: directory)
        let batch = [
            Sample(seriesID: series, timestampMs: 1000, value: 10.5, quality: .good),
            Sample(seriesID: series, timestampMs: 2000, value: nil, quality: .commFail),
            Sample(seriesID: series, timestampMs: 3000, value: nil, quality: .exception),
            Sample(seriesID: series, timestampMs: 4000, value: nil, quality: .outOfRange),
        ]
        try await store.insert(batch)
        try await store.insert(batch)
        #expect(try await store.samples(seriesID: series) == batch)
        #expect(try await store.samples(seriesID: series, fromMs: 2000, toMs: 4000).map(\.timestampMs) == [2000, 3000])
        let counts = try await store.sampleCounts()
        #expect(counts.total == 4)
        #expect(counts.byQuality == [.good: 1, .commFail: 1, .exception: 1, .outOfRange: 1])
        #expect(try await store.integrityCheck() == "ok")
    }

    @Test func prunesOnlySamplesOlderThanTheCutoffAndNothingAccountingStillNeeds() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await EnergyStore.open(path: directory.file("energy.sqlite"))
        let ids = try await store.registerSeries(for: try configuration())
        let all = ids.values.flatMap(\.values)
        let counters = ids.values.map { $0["import_energy"]! } + ids.values.map { $0["export_energy"]! }
        try await store.insert(
            all.flatMap { id in (0..<10).map { Sample(seriesID: id, timestampMs: Int64($0) * 1000, value: Double($0), quality: .good) } })
        // Counters nobody has accounted yet keep every sample.
        #expect(try await store.pruneSamples(beforeMs: 4000) == (all.count - counters.count) * 4)
        #expect(try await store.samples(seriesID: counters[0]).count == 10)
        // Once accounted, they are pruned up to the cutoff, never past accounting's anchor.
        try await store.account(calendar: CalendarBuckets(timeZone: TimeZone(identifier: "Asia/Shanghai")!))
        #expect(try await store.pruneSamples(beforeMs: 4000) == counters.count * 4)
        #expect(try await store.sampleCounts().total == all.count * 6)
        #expect(try await store.samples(seriesID: all[0]).first?.timestampMs == 4000)
        #expect(try await store.newestSampleMs() == 9000)
    }

    @Test func writerCommitsFullBatchesAtOnceAndTheRestOnFlushInterval() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, series) = try await storeWithOneSeries(in: directory)
        let writer = SampleWriter(store: store, batchMaxSamples: 100, flushIntervalMs: 60_000, logger: Logger(label: "test"))
        let running = Task { await writer.run() }
        writer.submit((0..<250).map { Sample(seriesID: series, timestampMs: Int64($0), value: Double($0), quality: .good) })
        // 250 samples ≥ one batch: committed without waiting for the minute-long flush interval.
        #expect(await eventually { writer.snapshot.samplesWritten == 250 })
        #expect(writer.snapshot.batches == 3, "batches of at most 100")
        writer.submit([Sample(seriesID: series, timestampMs: 1000, value: 1, quality: .good)])
        try await Task.sleep(for: .milliseconds(100))
        #expect(writer.snapshot.queueDepth == 1, "below the batch size the sample waits for the interval")
        running.cancel()
        await running.value
        #expect(writer.snapshot.samplesWritten == 251, "cancellation commits what is left")
        #expect(try await store.sampleCounts().total == 251)
    }

    @Test func aSampleThatCanNeverBeStoredIsSetAsideAndTheRestIsCommitted() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, series) = try await storeWithOneSeries(in: directory)
        let writer = SampleWriter(store: store, batchMaxSamples: 1000, flushIntervalMs: 60_000, logger: Logger(label: "test"))
        // A sample of a series the store does not know, in the middle of a batch.
        var samples = (0..<200).map { Sample(seriesID: series, timestampMs: Int64($0), value: Double($0), quality: .good) }
        samples.insert(Sample(seriesID: 999_999, timestampMs: 50, value: 1, quality: .good), at: 100)
        writer.submit(samples)
        await writer.flush()
        #expect(writer.snapshot.rejected == 1)
        #expect(writer.snapshot.samplesWritten == 200)
        #expect(writer.snapshot.queueDepth == 0, "nothing is retried forever")
        #expect(try await store.sampleCounts().total == 200)
        // The writer goes on with what comes next.
        writer.submit([Sample(seriesID: series, timestampMs: 1000, value: 1, quality: .good)])
        await writer.flush()
        #expect(try await store.sampleCounts().total == 201)
    }

    @Test func theWriteBufferIsBoundedAndDropsTheOldestFirst() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, series) = try await storeWithOneSeries(in: directory)
        // Nothing commits (the writer is not running): as while the database refuses writes.
        let writer = SampleWriter(
            store: store, batchMaxSamples: 100, flushIntervalMs: 60_000, bufferMaxSamples: 1000, logger: Logger(label: "test"))
        for round in 0..<30 {
            writer.submit((0..<100).map { Sample(seriesID: series, timestampMs: Int64(round * 100 + $0), value: 1, quality: .good) })
        }
        #expect(writer.snapshot.queueDepth <= 1000)
        #expect(writer.snapshot.dropped == 3000 - UInt64(writer.snapshot.queueDepth))
        await writer.flush()
        // What is kept is the newest.
        let kept = try await store.samples(seriesID: series)
        #expect(kept.last?.timestampMs == 2999)
        #expect(kept.first.map { $0.timestampMs >= 2000 } == true)
    }
}
