import TestSupport
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

    @Test func aResetEstimatesTheUnmeteredQuarterFromTheRatesAroundIt() {
        let replay = CounterRules.replay(from: CounterState(), readings: readings([500, 540, 12, 50]), settings: settings)
        // 160/h before, 152/h after: 156/h for the quarter hour the old meter's last and the new one's first reading span.
        #expect(total(replay) == 40 + 39 + 38)
        #expect(replay.events.map(\.kind) == [.reset])
        #expect(replay.intervals.filter(\.estimated).map(\.delta) == [39])
    }

    @Test func aReplacementMetersStartingValueIsItsBaselineNotConsumption() {
        // The old meter at 9 000, 100 per quarter; the new one installed reading 8 000 (far below, not a dip) and counting on.
        let unbounded = CounterSettings(wrap: nil, maxRatePerHour: 500, nominalIntervalMs: quarter)
        let replay = CounterRules.replay(
            from: CounterState(), readings: readings([8_800, 8_900, 9_000, 2_000, 2_100, 2_200]), settings: unbounded)
        #expect(total(replay) == 100 + 100 + 100 + 100 + 100)
        #expect(replay.events.map(\.kind) == [.reset])
        #expect(replay.intervals.filter(\.estimated).map(\.delta) == [100])
    }

    @Test func aReplacementWithNoRateKnownEstimatesNothingRatherThanItsStartValue() {
        let unbounded = CounterSettings(wrap: nil, maxRatePerHour: 500, nominalIntervalMs: quarter)
        let replay = CounterRules.replay(from: CounterState(), readings: readings([9_000, 9_000, 2_000, 2_000]), settings: unbounded)
        #expect(total(replay) == 0)
        #expect(replay.events.map(\.kind) == [.reset])
    }

    @Test func consecutiveZeroGlitchesAreOneGlitch() {
        for zeros in 1...4 {
            let values = [500.0, 540] + Array(repeating: 0.0, count: zeros) + [560.0 + 20 * Double(zeros), 600 + 20 * Double(zeros)]
            let replay = CounterRules.replay(from: CounterState(), readings: readings(values), settings: settings)
            #expect(total(replay) == 100 + 20 * Double(zeros), "\(zeros) zeros")
            #expect(replay.events.map(\.kind) == [.glitch], "\(zeros) zeros")
        }
    }

    @Test func zerosLastingLongerThanAGlitchAreAReset() {
        // Zero for 75 minutes, then the counter counts from zero: the meter was reset, and stood still afterwards.
        let values: [Double] = [500, 540, 0, 0, 0, 0, 0, 0, 30, 60]
        let replay = CounterRules.replay(from: CounterState(), readings: readings(values), settings: settings)
        #expect(replay.events.map(\.kind) == [.reset])
        // The unmetered quarter at the mean of 160/h before and 0/h after.
        #expect(total(replay) == 40 + 20 + 60)
    }

    @Test func zerosStillInsideTheGlitchWindowWaitForTheNextReading() {
        let replay = CounterRules.replay(from: CounterState(), readings: readings([500, 540, 0, 0]), settings: settings)
        #expect(replay.state.anchor == CounterReading(quarter, 540))
        #expect(replay.events.isEmpty)
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
        // 40 per quarter, then unchanged for 5 readings while the power gauge read non-zero, then the catch-up.
        let values: [Double] = [0, 40, 80, 80, 80, 80, 80, 80, 320, 360]
        let powered = RunningEvidence(timesMs: (0..<10).map { Int64($0) * quarter })
        let replay = CounterRules.replay(from: CounterState(), readings: readings(values), settings: settings, running: powered)
        #expect(total(replay) == 360)
        #expect(replay.events.map(\.kind) == [.frozen])
        let spread = replay.intervals.first { $0.estimated }
        #expect(spread == CounterInterval(startMs: 2 * quarter, endMs: 8 * quarter, delta: 240, estimated: true))
    }

    @Test func aCounterStandingWhileItsPowerReadsZeroIsIdleNotFrozen() {
        // The plant stops overnight (power 0 from the third reading) and starts hard in the morning.
        let values: [Double] = [0, 40, 80, 80, 80, 80, 80, 80, 320, 360]
        let poweredOnlyBySunlight = RunningEvidence(timesMs: [0, quarter, 2 * quarter, 8 * quarter, 9 * quarter])
        let replay = CounterRules.replay(
            from: CounterState(), readings: readings(values), settings: settings, running: poweredOnlyBySunlight)
        #expect(total(replay) == 360)
        #expect(replay.events.isEmpty)
        #expect(replay.intervals.contains(CounterInterval(startMs: 7 * quarter, endMs: 8 * quarter, delta: 240, estimated: false)))
        // A meter configured to run always is frozen on the same readings.
        let always = CounterRules.replay(
            from: CounterState(), readings: readings(values), settings: settings, running: RunningEvidence(always: true))
        #expect(always.events.map(\.kind) == [.frozen])
    }

    @Test func aPlantStartingSecondsBeforeTheStandstillsLastReadingIsNotFrozen() {
        // Idle overnight (power 0 from the third reading); power > 0 six seconds before the last unchanged reading,
        // the counter not yet past its display step; a hard start then counts 100 in the next quarter (rate 160/h
        // before: 100 > 2 × 160 × 0.25). Before the fix this was 读数冻结.
        let values: [Double] = [0, 40, 80, 80, 80, 80, 80, 80, 180, 280]
        let morning = RunningEvidence(timesMs: [0, quarter, 2 * quarter, 7 * quarter - 6000, 8 * quarter, 9 * quarter])
        let replay = CounterRules.replay(from: CounterState(), readings: readings(values), settings: settings, running: morning)
        #expect(replay.events.isEmpty, "\(replay.events)")
        #expect(total(replay) == 280)
        #expect(replay.intervals.contains(CounterInterval(startMs: 7 * quarter, endMs: 8 * quarter, delta: 100, estimated: false)))
    }

    @Test func aJumpThatStaysIsExcludedAndTheIntervalAcrossItEstimated() {
        // 40 per quarter, then the counter jumps by 50 000 and counts on from there at 40 per quarter: the jump is
        // not consumption, the quarter across it is estimated from the rates around it: (160 + 160) / 2 × 0.25 = 40.
        let values: [Double] = [0, 40, 80, 50_120, 50_160, 50_200]
        let replay = CounterRules.replay(from: CounterState(), readings: readings(values), settings: settings)
        #expect(replay.events.map(\.kind) == [.spike])
        #expect(total(replay) == 200)
        #expect(replay.intervals.contains(CounterInterval(startMs: 2 * quarter, endMs: 3 * quarter, delta: 40, estimated: true)))
    }

    @Test func aCounterThatNeverMovesHasItsAnchorMoveOn() throws {
        // An export point at 0, read every quarter for 30 days: the anchor follows, at most two weeks behind, so the
        // raw samples behind it can be pruned; in pieces or whole, the same anchor and no consumption.
        let values = [Double](repeating: 0, count: 30 * 96)
        let whole = CounterRules.replay(from: CounterState(), readings: readings(values), settings: settings)
        let last = Int64(values.count - 1) * quarter
        let anchor = try #require(whole.state.anchor)
        #expect(last - anchor.timestampMs <= 2 * CounterRules.maximumOpenStandstillMs && anchor.timestampMs > 0)
        #expect(total(whole) == 0 && whole.events.isEmpty)
        let first = CounterRules.replay(from: CounterState(), readings: Array(readings(values).prefix(1500)), settings: settings)
        let firstAnchor = try #require(first.state.anchor)
        let rest = CounterRules.replay(
            from: first.state, readings: readings(values).filter { $0.timestampMs > firstAnchor.timestampMs }, settings: settings)
        #expect(rest.state == whole.state)
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
        var unmetered = 0.0  // consumed between a replaced meter's last reading and the new one's first
        var calm = true  // one anomaly at a time: the rules look one reading ahead
        for round in 0..<300 {
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
            if dice == 0, !wraps, !nearWrap, before > 400, round < 299 {  // a reset is decided by the reading after it
                // The meter is replaced within this interval: the new one starts at its own baseline.
                // (A new meter reads far below the old one, or a reset could not be told from a dip.)
                counter = Double(random.next() % 100)
                unmetered += consumed
                expectedEvents[.reset, default: 0] += 1
            } else if dice == 1, !wraps, !nearWrap, consumed > 0 {
                // One zero or several in a row.
                for back in stride(from: Int64(1 + random.next() % 3), through: 1, by: -1) { list.append(CounterReading(time - back, 0)) }
                expectedEvents[.glitch, default: 0] += 1
            } else if dice == 2, !wraps, !nearWrap {
                list.append(CounterReading(time - 1, counter + 50_000))
                expectedEvents[.spike, default: 0] += 1
            }
            list.append(CounterReading(time, counter))
        }
        list.sort { $0.timestampMs < $1.timestampMs }
        let full = CounterRules.replay(from: CounterState(), readings: list, settings: settings)

        // Exact but for the replaced meters' unmetered intervals, which are estimates.
        let resets = Set(full.events.filter { $0.kind == .reset }.map(\.timestampMs))
        let estimatedAtResets = full.intervals.filter { resets.contains($0.endMs) }.map(\.delta).reduce(0, +)
        #expect(abs(total(full) - estimatedAtResets - (truth - unmetered)) < 1e-6, "seed \(seed)")
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
