/// A good reading of a counter, in the counter's own unit.
public struct CounterReading: Sendable, Hashable, Codable {
    /// UTC epoch ms.
    public var timestampMs: Int64
    /// Counter value as read.
    public var value: Double

    /// Creates a reading.
    public init(_ timestampMs: Int64, _ value: Double) {
        self.timestampMs = timestampMs
        self.value = value
    }
}

/// Consumption between two accepted readings: spread over the time between them in proportion to time.
public struct CounterInterval: Sendable, Hashable, Codable {
    /// Start, UTC epoch ms (an accepted reading).
    public var startMs: Int64
    /// End, UTC epoch ms (the next accepted reading).
    public var endMs: Int64
    /// Amount consumed, in the counter's unit.
    public var delta: Double
    /// Whether the amount or its spread over time is an estimate (a gap, a frozen counter, a replaced meter).
    public var estimated: Bool

    /// Creates an interval.
    public init(startMs: Int64, endMs: Int64, delta: Double, estimated: Bool) {
        self.startMs = startMs
        self.endMs = endMs
        self.delta = delta
        self.estimated = estimated
    }
}

/// What the counter rules noticed.
public enum CounterEventKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// The counter passed its wrap; the delta across it was counted.
    case rollover
    /// The counter restarted near zero (meter replaced or reset); counted from zero.
    case reset
    /// One reading of 0 (or below the counter) between true values; ignored.
    case glitch
    /// A reading implying more than the meter's maximum rate; excluded.
    case spike
    /// The counter stood still and then caught up; the catch-up was spread over the time it stood.
    case frozen
    /// Readings were missing; the delta across the gap was spread over it.
    case gap
}

/// One event, at the reading that revealed it.
public struct CounterEvent: Sendable, Hashable, Codable {
    /// UTC epoch ms of the reading that revealed it.
    public var timestampMs: Int64
    /// What happened.
    public var kind: CounterEventKind
    /// Figures for people ("0 after 123456.7", "from … to …").
    public var detail: String

    /// Creates an event.
    public init(timestampMs: Int64, kind: CounterEventKind, detail: String) {
        self.timestampMs = timestampMs
        self.kind = kind
        self.detail = detail
    }
}

/// When a meter was seen running: the times of its good power or flow readings above zero.
///
/// A counter that stands still while its meter answers and its power reads zero is idle, not frozen.
public struct RunningEvidence: Sendable, Hashable {
    /// UTC epoch ms, ascending.
    public var timesMs: [Int64]
    /// Whether the meter runs whenever its counter is read (configured: a kiln that never stops).
    public var always: Bool

    /// Evidence from readings, or the configured expectation.
    public init(timesMs: [Int64] = [], always: Bool = false) {
        self.timesMs = timesMs
        self.always = always
    }

    /// Whether the meter was seen running in (`after`, `through`].
    public func ran(after startMs: Int64, through endMs: Int64) -> Bool { firstRun(after: startMs, through: endMs) != nil }

    /// The first time in (`after`, `through`] the meter was seen running (just after `after` when it always runs).
    public func firstRun(after startMs: Int64, through endMs: Int64) -> Int64? {
        if always { return startMs < endMs ? startMs + 1 : nil }
        var low = 0
        var high = timesMs.count
        while low < high {
            let middle = (low + high) / 2
            if timesMs[middle] <= startMs { low = middle + 1 } else { high = middle }
        }
        return low < timesMs.count && timesMs[low] <= endMs ? timesMs[low] : nil
    }
}

/// What a counter needs to be read as consumption.
public struct CounterSettings: Sendable, Hashable {
    /// Value at which the counter wraps to zero, if it does.
    public var wrap: Double?
    /// Most the meter can count per hour (its maximum power or flow); faster deltas are spikes.
    public var maxRatePerHour: Double?
    /// The poll interval: intervals longer than 1.5 of it are gaps.
    public var nominalIntervalMs: Int64

    /// Creates settings.
    public init(wrap: Double?, maxRatePerHour: Double?, nominalIntervalMs: Int64) {
        self.wrap = wrap
        self.maxRatePerHour = maxRatePerHour
        self.nominalIntervalMs = nominalIntervalMs
    }
}

/// Where a replay of a counter's readings may restart: everything before the anchor is final.
public struct CounterState: Sendable, Hashable, Codable {
    /// The last accepted reading whose outcome is final.
    public var anchor: CounterReading?
    /// The final interval that ends at the anchor (it shares the anchor's bucket with what follows).
    public var lastInterval: CounterInterval?
    /// Rate per hour of the last interval with consumption, for judging a catch-up after a frozen counter.
    public var ratePerHour: Double?

    /// Nothing read yet.
    public init(anchor: CounterReading? = nil, lastInterval: CounterInterval? = nil, ratePerHour: Double? = nil) {
        self.anchor = anchor
        self.lastInterval = lastInterval
        self.ratePerHour = ratePerHour
    }
}

/// The outcome of replaying readings after a state.
public struct CounterReplay: Sendable, Hashable {
    /// Intervals after the starting anchor, final ones first, then provisional ones (a counter standing still).
    public var intervals: [CounterInterval]
    /// Events revealed by readings after the starting anchor.
    public var events: [CounterEvent]
    /// Where the next replay starts: the last point whose outcome is final.
    public var state: CounterState
}

/// Turns a counter's good readings into consumption intervals, handling rollover, reset, zero glitch, spike,
/// frozen value and gaps. Pure: the same state and readings always give the same result, so a replay of the
/// whole history (a rebuild) and replays of its pieces as they arrive (incremental) agree exactly.
///
/// A decision about a reading looks at most one good reading ahead; while that reading is missing the replay
/// stops there and the next one starts again from the last final anchor.
public enum CounterRules {
    /// Readings unchanged for at least this many polls and this long, then a jump, are a frozen counter.
    static let frozenMinimumReadings = 3
    static let frozenMinimumMs: Int64 = 3_600_000
    /// Rates up to this factor above the maximum are tolerated: a reading's time is when its request left, which
    /// can be off by the poll's own delays (and a spike is a reading far beyond any rate).
    static let rateTolerance = 1.25
    /// A counter reading low for longer than this was reset, not glitched.
    static let glitchMaximumMs: Int64 = 3_600_000
    /// Longest standstill kept open for a frozen counter's catch-up; older parts become final (see `settleOldStandstill`).
    static let maximumOpenStandstillMs: Int64 = 7 * 86_400_000

    /// Replays `readings` (good readings after `state.anchor`, in time order); `running` says when the meter's
    /// power or flow showed it running, the evidence a standing counter needs to be judged frozen.
    public static func replay(
        from state: CounterState, readings: [CounterReading], settings: CounterSettings, running: RunningEvidence = RunningEvidence()
    ) -> CounterReplay {
        var replay = Replayer(state: state, settings: settings, running: running)
        replay.run(readings)
        return CounterReplay(intervals: replay.intervals, events: replay.events, state: replay.final)
    }
}

/// The replay's working state.
private struct Replayer {
    let settings: CounterSettings
    let running: RunningEvidence
    var anchor: CounterReading?
    var ratePerHour: Double?
    /// Readings equal to the anchor's value since the anchor: (count, time of the last one).
    var standstill: (count: Int, lastMs: Int64)?
    /// Whether a glitch or spike was skipped since the anchor: the longer interval then is no gap in polling.
    var skippedSinceAnchor = false
    var intervals: [CounterInterval] = []
    var events: [CounterEvent] = []
    var final: CounterState

    init(state: CounterState, settings: CounterSettings, running: RunningEvidence) {
        self.settings = settings
        self.running = running
        self.anchor = state.anchor
        self.ratePerHour = state.ratePerHour
        self.final = state
    }

    static func hours(_ from: Int64, _ to: Int64) -> Double { Double(to - from) / 3_600_000 }

    /// Whether `delta` over `from…to` is within the meter's maximum rate.
    func plausible(_ delta: Double, from: Int64, to: Int64) -> Bool {
        guard let maximum = settings.maxRatePerHour else { return true }
        return delta <= maximum * CounterRules.rateTolerance * max(Self.hours(from, to), 1e-9)
    }

    mutating func run(_ readings: [CounterReading]) {
        var index = 0
        while index < readings.count {
            let reading = readings[index]
            guard let current = anchor else {
                anchor = reading
                final = CounterState(anchor: reading, lastInterval: nil, ratePerHour: ratePerHour)
                index += 1
                continue
            }
            let delta = reading.value - current.value
            if delta == 0 {
                standstill = ((standstill?.count ?? 0) + 1, reading.timestampMs)
                settleOldStandstill(at: reading.timestampMs)
                index += 1
                continue
            }
            let ahead = readings[(index + 1)...]
            let outcome = delta > 0 ? rise(from: current, to: reading, next: ahead.first) : fall(from: current, to: reading, ahead: ahead)
            switch outcome {
            case .wait:
                emitStandstill(final: false)
                return
            case .skip(let count):
                skippedSinceAnchor = true
                index += count
            case .accept: index += 1
            }
        }
        emitStandstill(final: false)
    }

    enum Outcome {
        case accept
        /// The reading and the next `count - 1` (equal to it) are set aside.
        case skip(Int)
        case wait
    }

    private mutating func rise(from current: CounterReading, to reading: CounterReading, next: CounterReading?) -> Outcome {
        let delta = reading.value - current.value
        if !plausible(delta, from: current.timestampMs, to: reading.timestampMs) {
            guard let next else { return .wait }
            let nextDelta = next.value - current.value
            if nextDelta >= 0, plausible(nextDelta, from: current.timestampMs, to: next.timestampMs) {
                events.append(
                    CounterEvent(
                        timestampMs: reading.timestampMs, kind: .spike, detail: "\(reading.value) after \(current.value); reading excluded")
                )
                return .skip(1)
            }
            // The counter jumped and went on from there: the jump is not consumption, but the meter went on counting
            // across it, so that interval is estimated from the rates around it, as across a reset.
            let start = closeStandstill()
            let estimate = unmetered(from: start, to: reading, next: next)
            events.append(
                CounterEvent(
                    timestampMs: reading.timestampMs, kind: .spike,
                    detail: "jump from \(current.value) to \(reading.value) excluded; \(estimate) estimated across it"))
            accept(reading, delta: estimate, estimated: true, from: start)
            return .accept
        }
        if let stood = standstill, stood.count >= CounterRules.frozenMinimumReadings,
            stood.lastMs - current.timestampMs >= CounterRules.frozenMinimumMs, let rate = ratePerHour,
            delta > 2 * rate * Self.hours(stood.lastMs, reading.timestampMs),
            ranLongEnough(from: current.timestampMs, through: stood.lastMs, before: reading.timestampMs)
        {
            // It stood still while the plant ran: spread the catch-up over the whole time it stood.
            events.append(
                CounterEvent(
                    timestampMs: reading.timestampMs, kind: .frozen,
                    detail: "unchanged at \(current.value) for \(stood.count) readings from \(current.timestampMs) ms; \(delta) spread"))
            standstill = nil
            accept(reading, delta: delta, estimated: true, from: current.timestampMs)
            return .accept
        }
        let start = closeStandstill()
        accept(reading, delta: delta, estimated: isGap(from: start, to: reading.timestampMs), from: start)
        return .accept
    }

    private mutating func fall(from current: CounterReading, to reading: CounterReading, ahead: ArraySlice<CounterReading>) -> Outcome {
        // A zero (or a dip) between true values is a glitch, however many readings it lasts, unless the counter
        // stays low for longer than a glitch can (then it was reset). Only readings within that time decide, so a
        // replay in pieces and a replay of the whole history agree.
        let run = ahead.prefix { $0.value == reading.value }
        let stayedLow = run.last.map { $0.timestampMs - reading.timestampMs > CounterRules.glitchMaximumMs } ?? false
        let resumed = stayedLow ? nil : ahead.dropFirst(run.count).first
        if !stayedLow, reading.value == 0 || (resumed.map { $0.value >= current.value } ?? false) {
            guard let resumed else { return .wait }
            if resumed.value >= current.value,
                plausible(resumed.value - current.value, from: current.timestampMs, to: resumed.timestampMs)
            {
                let readings = run.count + 1
                events.append(
                    CounterEvent(
                        timestampMs: reading.timestampMs, kind: .glitch,
                        detail: "\(reading.value) after \(current.value)\(readings > 1 ? " (\(readings) readings)" : ""); ignored"))
                return .skip(readings)
            }
        }
        if let wrap = settings.wrap {
            let across = wrap - current.value + reading.value
            let shorterThanReset = settings.maxRatePerHour != nil || across < current.value - reading.value
            // Judged over the time since the last reading: an idle spell before it must not make a reset look like a wrap.
            let lastReadMs = standstill?.lastMs ?? current.timestampMs
            if across >= 0, shorterThanReset, plausible(across, from: lastReadMs, to: reading.timestampMs) {
                events.append(
                    CounterEvent(
                        timestampMs: reading.timestampMs, kind: .rollover, detail: "\(current.value) → \(reading.value) across \(wrap)"))
                let start = closeStandstill()
                accept(reading, delta: across, estimated: isGap(from: start, to: reading.timestampMs), from: start)
                return .accept
            }
        }
        guard let next = ahead.first else { return .wait }
        if next.value < reading.value {
            events.append(
                CounterEvent(
                    timestampMs: reading.timestampMs, kind: .glitch, detail: "\(reading.value) after \(current.value); reading ignored"))
            return .skip(1)
        }
        // Restarted low: a new or reset meter. Its first value is its baseline, never consumption; what went
        // unmetered between the old meter's last reading and the new one's first is estimated from the rates around.
        let start = closeStandstill()
        let unmetered = unmetered(from: start, to: reading, next: next)
        events.append(
            CounterEvent(
                timestampMs: reading.timestampMs, kind: .reset,
                detail: "restarted at \(reading.value) after \(current.value); \(unmetered) estimated for the unmetered time"))
        accept(reading, delta: unmetered, estimated: true, from: start)
        return .accept
    }

    /// What the meter probably counted from `start` to `reading` where its counter cannot say (a reset, a jump): the
    /// mean of the rates before and after, at most the meter's maximum.
    private func unmetered(from start: Int64, to reading: CounterReading, next: CounterReading) -> Double {
        let rates = [ratePerHour, next.value > reading.value ? Self.rate(from: reading, to: next) : 0].compactMap { $0 }
        let amount = rates.reduce(0, +) / Double(rates.count) * Self.hours(start, reading.timestampMs)
        guard let maximum = settings.maxRatePerHour else { return amount }
        return min(amount, maximum * Self.hours(start, reading.timestampMs))
    }

    /// Whether the meter ran, during a standstill from `start` through `end`, long enough for its counter to have
    /// moved: seen running for at least two polls, and for no less time than passed from `end` to the reading that
    /// caught up. A plant starting in the morning seconds before the standstill's last reading has a counter that has
    /// not yet passed its next display step, and counts its first interval in full: that is no frozen counter.
    private func ranLongEnough(from start: Int64, through end: Int64, before catchUpMs: Int64) -> Bool {
        guard let firstRun = running.firstRun(after: start, through: end) else { return false }
        return end - firstRun >= max(2 * settings.nominalIntervalMs, catchUpMs - end)
    }

    static func rate(from start: CounterReading, to end: CounterReading) -> Double {
        (end.value - start.value) / max(hours(start.timestampMs, end.timestampMs), 1e-9)
    }

    /// Makes all but the last `maximumOpenStandstillMs` of a standstill final, once it has lasted twice that: the
    /// anchor moves on with the counter's value, so the raw samples behind it can be pruned (a counter that never
    /// moves, an export point at 0, would otherwise keep its first reading as anchor for good). A frozen counter's
    /// catch-up is then spread over the standstill's last `maximumOpenStandstillMs`; its amount is unchanged.
    private mutating func settleOldStandstill(at nowMs: Int64) {
        guard let current = anchor, nowMs - current.timestampMs > 2 * CounterRules.maximumOpenStandstillMs else { return }
        let cut = nowMs - CounterRules.maximumOpenStandstillMs
        let interval = CounterInterval(startMs: current.timestampMs, endMs: cut, delta: 0, estimated: false)
        intervals.append(interval)
        anchor = CounterReading(cut, current.value)
        final = CounterState(anchor: anchor, lastInterval: interval, ratePerHour: ratePerHour)
    }

    /// Makes a standstill since the anchor final; returns where the next interval starts.
    private mutating func closeStandstill() -> Int64 {
        emitStandstill(final: true)
        return anchor!.timestampMs
    }

    private func isGap(from start: Int64, to end: Int64) -> Bool {
        Double(end - start) > 1.5 * Double(settings.nominalIntervalMs)
    }

    /// Emits the zero interval of a counter that stood still since the anchor.
    private mutating func emitStandstill(final isFinal: Bool) {
        guard let stood = standstill, let current = anchor else { return }
        let interval = CounterInterval(startMs: current.timestampMs, endMs: stood.lastMs, delta: 0, estimated: false)
        intervals.append(interval)
        if isFinal {
            standstill = nil
            anchor = CounterReading(stood.lastMs, current.value)
            final = CounterState(anchor: anchor, lastInterval: interval, ratePerHour: ratePerHour)
        }
    }

    /// Accepts `reading` as the new anchor with the interval that leads to it.
    private mutating func accept(_ reading: CounterReading, delta: Double, estimated: Bool, from start: Int64) {
        let interval = CounterInterval(startMs: start, endMs: reading.timestampMs, delta: delta, estimated: estimated)
        intervals.append(interval)
        if estimated, delta > 0, isGap(from: start, to: reading.timestampMs), !skippedSinceAnchor,
            !events.contains(where: { $0.timestampMs == reading.timestampMs })
        {
            events.append(CounterEvent(timestampMs: reading.timestampMs, kind: .gap, detail: "\(delta) spread from \(start) ms"))
        }
        if delta > 0, !estimated { ratePerHour = delta / Self.hours(start, reading.timestampMs) }
        anchor = reading
        standstill = nil
        skippedSinceAnchor = false
        final = CounterState(anchor: reading, lastInterval: interval, ratePerHour: ratePerHour)
    }
}
