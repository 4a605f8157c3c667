import Foundation

/// Amounts in millionths of a unit: integer sums are exact in any order, so 15-minute, hourly, daily and monthly
/// totals agree to the last digit however they are added up.
public typealias Micro = Int64

extension Double {
    /// The amount in millionths, rounded.
    public var micro: Micro { Micro((self * 1_000_000).rounded()) }
}

extension Micro {
    /// The amount in whole units.
    public var units: Double { Double(self) / 1_000_000 }
}

/// Rollup resolutions. 15-minute and hourly buckets are aligned to UTC multiples (local hours for whole-hour
/// offsets such as Asia/Shanghai); days start at local midnight and months on the 1st at local midnight.
public enum Resolution: String, Sendable, Hashable, CaseIterable, Codable {
    case quarter = "15min"
    case hour
    case day
    case month
}

/// An amount and the part of it that is estimated, in millionths.
public struct BucketAmount: Sendable, Hashable {
    /// Everything counted in the bucket.
    public var amount: Micro = 0
    /// The part spread over a gap, a frozen counter or a replaced meter.
    public var estimated: Micro = 0

    /// Zero.
    public init(amount: Micro = 0, estimated: Micro = 0) {
        self.amount = amount
        self.estimated = estimated
    }

    public static func + (lhs: Self, rhs: Self) -> Self {
        BucketAmount(amount: lhs.amount + rhs.amount, estimated: lhs.estimated + rhs.estimated)
    }
}

/// Spreads consumption intervals over 15-minute buckets in proportion to time.
public enum QuarterAllocation {
    /// 15 minutes.
    public static let quarterMs: Int64 = 900_000

    /// Start of the 15-minute bucket holding `timeMs`.
    public static func quarter(containing timeMs: Int64) -> Int64 { timeMs.floorDivided(by: quarterMs) * quarterMs }

    /// Each interval's delta × `unitFactor`, in millionths, split over the buckets it covers; the pieces of one
    /// interval add up exactly to its rounded total (cumulative rounding).
    public static func allocate(_ intervals: [CounterInterval], unitFactor: Double) -> [Int64: BucketAmount] {
        var buckets: [Int64: BucketAmount] = [:]
        for interval in intervals {
            let total = (interval.delta * unitFactor).micro
            let length = interval.endMs - interval.startMs
            guard length > 0 else {
                buckets[quarter(containing: interval.endMs), default: BucketAmount()].add(total, estimated: interval.estimated)
                continue
            }
            var bucket = quarter(containing: interval.startMs)
            var allocated: Micro = 0
            while bucket < interval.endMs {
                let coveredUntil = min(bucket + quarterMs, interval.endMs) - interval.startMs
                let cumulative = Micro((Double(total) * Double(coveredUntil) / Double(length)).rounded())
                buckets[bucket, default: BucketAmount()].add(cumulative - allocated, estimated: interval.estimated)
                allocated = cumulative
                bucket += quarterMs
            }
        }
        return buckets
    }
}

extension BucketAmount {
    fileprivate mutating func add(_ piece: Micro, estimated isEstimated: Bool) {
        amount += piece
        if isEstimated { estimated += piece }
    }
}

/// Local calendar buckets of a time zone.
public struct CalendarBuckets: Sendable {
    private let calendar: Calendar
    /// The zone's offset when it has no daylight-saving time (Asia/Shanghai): days are then plain arithmetic.
    private let fixedOffsetMs: Int64?

    /// Buckets of `timeZone`.
    public init(timeZone: TimeZone) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
        let now = Date()
        let yearLater = now.addingTimeInterval(400 * 86_400)
        let fixed =
            timeZone.nextDaylightSavingTimeTransition(after: now).map { $0 > yearLater } ?? true
            && timeZone.secondsFromGMT(for: now) == timeZone.secondsFromGMT(for: yearLater)
        fixedOffsetMs = fixed ? Int64(timeZone.secondsFromGMT(for: now)) * 1000 : nil
    }

    /// The time zone.
    public var timeZone: TimeZone { calendar.timeZone }

    /// Start of the bucket of `resolution` that holds `timeMs`, UTC epoch ms.
    public func start(of resolution: Resolution, containing timeMs: Int64) -> Int64 {
        switch resolution {
        case .quarter: return QuarterAllocation.quarter(containing: timeMs)
        case .hour: return timeMs.floorDivided(by: 3_600_000) * 3_600_000
        case .day where fixedOffsetMs != nil:
            let offset = fixedOffsetMs!
            return (timeMs + offset).floorDivided(by: 86_400_000) * 86_400_000 - offset
        case .day, .month:
            let date = Date(timeIntervalSince1970: Double(timeMs) / 1000)
            let components = calendar.dateComponents(resolution == .day ? [.year, .month, .day] : [.year, .month], from: date)
            return Int64(calendar.date(from: components)!.timeIntervalSince1970 * 1000)
        }
    }

    /// Start of the bucket after the one starting at `bucketMs`.
    public func next(_ resolution: Resolution, after bucketMs: Int64) -> Int64 {
        switch resolution {
        case .quarter: return bucketMs + QuarterAllocation.quarterMs
        case .hour: return bucketMs + 3_600_000
        case .day where fixedOffsetMs != nil: return bucketMs + 86_400_000
        case .day, .month:
            let date = Date(timeIntervalSince1970: Double(bucketMs) / 1000)
            let next = calendar.date(byAdding: resolution == .day ? .day : .month, value: 1, to: date)!
            return Int64(next.timeIntervalSince1970 * 1000)
        }
    }

    /// Local midnight starting the day of a "YYYY-MM-DD" date, UTC epoch ms.
    public func startOfDay(_ date: String) -> Int64? {
        // A day is written as a day: "2025-12-22T23:00:00-10:00" names an instant, whose local day is another.
        guard date.utf8.count == 10 else { return nil }
        return ISO8601Time.parseMs(date, timeZone: timeZone).map { start(of: .day, containing: $0) }
    }

    /// The local "YYYY-MM-DD" of the day holding `timeMs` (the inverse of `startOfDay`).
    public func dayLabel(_ timeMs: Int64) -> String { String(ISO8601Time.formatLocal(ms: timeMs, timeZone: timeZone).prefix(10)) }
}
