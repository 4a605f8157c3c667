import Testing

@testable import EnergyModel

@Suite struct CounterRulesTests {
    let quarter: Int64 = 900_000
    let settings = CounterSettings(wrap: 1000, maxRatePerHour: 400, nominalIntervalMs: 900_000)

    func readings(_ values: [Double], every step: Int64 = 900_000, from start: Int64 = 0) -> [CounterReading] {
        values.enumerated().map { CounterReading(start + Int64($0.offset) * step, $0.element) }
    }

    func total(_ replay: CounterReplay) -> Double { replay.intervals.map(\.delta).reduce(0, +) }

    @Test func steadyCounterGivesItsDifference() {
        let replay = CounterRules.replay(from: CounterState(), readings: readings([10, 30, 55, 60]), settings: settings)
        #expect(total(replay) == 50)
        #expect(replay.events.isEmpty)
        #expect(replay.intervals.allSatisfy { !$0.estimated })
        #expect(replay.state.anchor == CounterReading(3 * quarter, 60))
    }

    @Test func rolloverCountsTheDeltaAcrossTheWrap() {
        let replay = CounterRules.replay(from: CounterState(), readings: readings([950, 990, 20, 60]), settings: settings)
        #expect(total(replay) == 110)
        #expect(replay.events.map(\.kind) == [.rollover])
    }

    @Test func resetCountsFromZeroAndSaysItIsAnEstimate() {
        let replay = CounterRules.replay(from: CounterState(), readings: readings([500, 540, 12, 50]), settings: settings)
        #expect(total(replay) == 40 + 12 + 38)
        #expect(replay.events.map(\.kind) == [.reset])
        #expect(replay.intervals.filter(\.estimated).map(\.delta) == [12])
    }

    @Test func zeroGlitchIsIgnored() {
        let replay = CounterRules.replay(from: CounterState(), readings: readings([500, 540, 0, 600]), settings: settings)
        #expect(total(replay) == 100)
        #expect(replay.events.map(\.kind) == [.glitch])
        #expect(replay.intervals.count == 2)
    }

    @Test func spikeIsExcluded() {
        let replay = CounterRules.replay(from: CounterState(), readings: readings([100, 150, 90_000, 200, 250]), settings: settings)
        #expect(total(replay) == 150)
        #expect(replay.events.map(\.kind) == [.spike])
    }

    @Test func frozenCounterCatchingUpIsSpreadOverTheTimeItStood() {
        // 40 per quarter, then unchanged for 5 readings while the plant ran, then the catch-up.
        let values: [Double] = [0, 40, 80, 80, 80, 80, 80, 80, 320, 360]
        let replay = CounterRules.replay(from: CounterState(), readings: readings(values), settings: settings)
        #expect(total(replay) == 360)
        #expect(replay.events.map(\.kind) == [.frozen])
        let spread = replay.intervals.first { $0.estimated }
        #expect(spread == CounterInterval(startMs: 2 * quarter, endMs: 8 * quarter, delta: 240, estimated: true))
    }

    @Test func idleCounterIsMeasuredZeroNotFrozen() {
        let values: [Double] = [0, 40, 80, 80, 80, 80, 80, 80, 120]
        let replay = CounterRules.replay(from: CounterState(), readings: readings(values), settings: settings)
        #expect(total(replay) == 120)
        #expect(replay.events.isEmpty)
        #expect(replay.intervals.contains(CounterInterval(startMs: 2 * quarter, endMs: 7 * quarter, delta: 0, estimated: false)))
    }

    @Test func gapIsSpreadAndMarkedEstimated() {
        let gapped = [
            CounterReading(0, 0), CounterReading(quarter, 40), CounterReading(5 * quarter, 200), CounterReading(6 * quarter, 240),
        ]
        let replay = CounterRules.replay(from: CounterState(), readings: gapped, settings: settings)
        #expect(total(replay) == 240)
        #expect(replay.events.map(\.kind) == [.gap])
        #expect(
            replay.intervals.filter(\.estimated) == [CounterInterval(startMs: quarter, endMs: 5 * quarter, delta: 160, estimated: true)])
    }

    @Test func aDecisionThatNeedsTheNextReadingWaitsForIt() {
        let replay = CounterRules.replay(from: CounterState(), readings: readings([100, 150, 0]), settings: settings)
        #expect(replay.state.anchor == CounterReading(quarter, 150), "the zero may be a glitch or a reset")
        #expect(total(replay) == 50)
    }

    /// Replays `readings` in pieces, as the store does when they arrive: final intervals are kept, provisional
    /// ones and events after the anchor are replaced by the next piece's.
    func piecewise(_ readings: [CounterReading], cuts: [Int], settings: CounterSettings) -> (
        intervals: [CounterInterval], events: [CounterEvent]
    ) {
        var state = CounterState()
        var kept: [CounterInterval] = []
        var events: [CounterEvent] = []
        var provisional: [CounterInterval] = []
        var available = 0
        for cut in cuts + [readings.count] {
            available = max(available, cut)
            let after = state.anchor?.timestampMs ?? .min
            let replay = CounterRules.replay(
                from: state, readings: readings[..<available].filter { $0.timestampMs > after }, settings: settings)
            let anchor = replay.state.anchor?.timestampMs ?? .min
            kept += replay.intervals.filter { $0.endMs <= anchor }
            provisional = replay.intervals.filter { $0.endMs > anchor || $0.startMs >= anchor }
            events = events.filter { $0.timestampMs <= after } + replay.events
            state = replay.state
        }
        return (kept + provisional.filter { !kept.contains($0) }, events)
    }

    @Test(arguments: 1...200)
    func anyReadingsWithRolloversResetsGlitchesAndSpikesGiveTheTrueTotal(seed: UInt64) {
        var random = SplitMix(seed: seed)
        let wrap = 1000.0
        var counter = Double(random.next() % 900)
        var truth = 0.0
        var list = [CounterReading(0, counter)]
        var time: Int64 = 0
        var expectedEvents: [CounterEventKind: Int] = [:]
        var calm = true  // one anomaly at a time: the rules look one reading ahead
        for _ in 0..<300 {
            let step = Int64(1 + random.next() % 3) * quarter  // sometimes readings are missing
            let consumed = Double(random.next() % 60) * Double(step) / Double(quarter)
            time += step
            truth += consumed
            let before = counter
            let wraps = counter + consumed >= wrap
            // Within reach of the wrap at the maximum rate, a reset cannot be told from a rollover.
            let nearWrap = counter > wrap - 400
            counter = (counter + consumed).truncatingRemainder(dividingBy: wrap)
            if wraps { expectedEvents[.rollover, default: 0] += 1 }
            let dice = calm ? random.next() % 20 : 99
            calm = dice > 2 && !wraps
            if dice == 0, !wraps, !nearWrap, before > 400 {
                // The meter is replaced right after the previous reading: the new one counted only this interval.
                // (A new meter reads far below the old one, or a reset could not be told from a dip.)
                counter = consumed
                expectedEvents[.reset, default: 0] += 1
            } else if dice == 1, !wraps, !nearWrap, consumed > 0 {
                list.append(CounterReading(time - 1, 0))
                expectedEvents[.glitch, default: 0] += 1
            } else if dice == 2, !wraps, !nearWrap {
                list.append(CounterReading(time - 1, counter + 50_000))
                expectedEvents[.spike, default: 0] += 1
            }
            list.append(CounterReading(time, counter))
        }
        list.sort { $0.timestampMs < $1.timestampMs }
        let full = CounterRules.replay(from: CounterState(), readings: list, settings: settings)

        #expect(abs(total(full) - truth) < 1e-6, "seed \(seed)")
        for kind in [CounterEventKind.rollover, .reset, .glitch, .spike] {
            #expect(full.events.filter { $0.kind == kind }.count == expectedEvents[kind, default: 0], "seed \(seed) \(kind)")
        }
        // Incremental replays, cut anywhere, give the same intervals and events.
        let cuts = (0..<8).map { _ in Int(random.next() % UInt64(list.count)) }.sorted()
        let pieces = piecewise(list, cuts: cuts, settings: settings)
        #expect(pieces.intervals == full.intervals, "seed \(seed)")
        #expect(pieces.events == full.events, "seed \(seed)")
    }
}

/// A small seeded generator for property tests.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
