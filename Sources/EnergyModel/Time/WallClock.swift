import Foundation

/// Where energyd and metersim read the time of day: the real clock, or a simulated one that runs faster.
public protocol WallClock: Sendable {
    /// Current time, UTC epoch milliseconds.
    func nowMs() -> Int64
    /// Real seconds that pass while this clock advances by `clockMs`.
    func realSeconds(forClockMs clockMs: Int64) -> Double
    /// Told by a polling thread that it has done everything due at `nowMs`: a stepped clock moves on only once
    /// every thread has said so; the others ignore it.
    func caughtUp(atMs nowMs: Int64)
}

extension WallClock {
    public func caughtUp(atMs nowMs: Int64) {}
}

/// The system's real-time clock.
public struct SystemWallClock: WallClock {
    /// Creates the real clock.
    public init() {}

    public func nowMs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    public func realSeconds(forClockMs clockMs: Int64) -> Double { Double(clockMs) / 1000 }
}

/// A clock that reads `startMs` at real instant `anchorRealMs` and then runs `speed` times faster than real time.
///
/// Two processes given the same start, speed and anchor read the same simulated time, which is how energyd
/// and metersim share a simulated month.
public struct SimulatedWallClock: WallClock {
    /// Simulated time at the anchor, UTC epoch milliseconds.
    public let startMs: Int64
    /// Simulated seconds per real second.
    public let speed: Double
    /// Real time at which the simulated clock reads `startMs`, UTC epoch milliseconds.
    public let anchorRealMs: Int64
    private let real = SystemWallClock()

    /// Creates a simulated clock; the anchor defaults to now.
    public init(startMs: Int64, speed: Double, anchorRealMs: Int64? = nil) {
        precondition(speed > 0, "clock speed must be positive")
        self.startMs = startMs
        self.speed = speed
        self.anchorRealMs = anchorRealMs ?? SystemWallClock().nowMs()
    }

    public func nowMs() -> Int64 {
        startMs + Int64((Double(real.nowMs() - anchorRealMs) * speed).rounded(.down))
    }

    public func realSeconds(forClockMs clockMs: Int64) -> Double { Double(clockMs) / 1000 / speed }
}

/// Parses ISO 8601 / RFC 3339 date-times ("2026-01-01T00:00:00+08:00", "…Z", fractional seconds allowed)
/// and plain dates ("2026-01-01", midnight in `timeZone`).
public enum ISO8601Time {
    /// The years a date may have: four digits, from 1000 on (older dates are typing mistakes).
    public static let years = 1000...9999

    /// What a date must look like, for error messages.
    public static let dateRule = "a date YYYY-MM-DD from \(years.lowerBound)-01-01 to \(years.upperBound)-12-31"

    /// UTC epoch milliseconds, or nil when the text is not a date-time: `YYYY-MM-DD`, optionally followed by
    /// `T` and `hh:mm[:ss[.fff]]`, optionally followed by `Z` or `±hh:mm`. Years 1000–9999; every field in range.
    public static func parseMs(_ text: String, timeZone: TimeZone = TimeZone(identifier: "UTC")!) -> Int64? {
        var scanner = DigitScanner(Array(text.utf8))
        guard let year = scanner.number(digits: 4), years.contains(year), scanner.take("-"),
            let month = scanner.number(digits: 2), (1...12).contains(month), scanner.take("-"),
            let day = scanner.number(digits: 2), (1...31).contains(day)
        else { return nil }
        var components = DateComponents(year: year, month: month, day: day, hour: 0, minute: 0, second: 0)
        var zone = timeZone
        var fractionMs = 0
        if scanner.take("T") {
            guard let hour = scanner.number(digits: 2), hour < 24, scanner.take(":"), let minute = scanner.number(digits: 2), minute < 60
            else { return nil }
            components.hour = hour
            components.minute = minute
            if scanner.take(":") {
                guard let second = scanner.number(digits: 2), second < 60 else { return nil }
                components.second = second
                if scanner.take(".") {
                    let digits = scanner.digits()
                    guard !digits.isEmpty else { return nil }
                    fractionMs = digits.prefix(3).enumerated().reduce(0) { $0 + Int($1.element - 48) * [100, 10, 1][$1.offset] }
                }
            }
            if scanner.take("Z") {
                zone = TimeZone(identifier: "UTC")!
            } else if let sign = scanner.take("+") ? 1 : scanner.take("-") ? -1 : nil {
                guard let hours = scanner.number(digits: 2), hours <= 14, scanner.take(":"), let minutes = scanner.number(digits: 2),
                    minutes < 60, let offsetZone = TimeZone(secondsFromGMT: sign * (hours * 3600 + minutes * 60))
                else { return nil }
                zone = offsetZone
            }
        }
        guard scanner.atEnd else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        guard let date = calendar.date(from: components), calendar.component(.day, from: date) == day else { return nil }
        return Int64((date.timeIntervalSince1970 * 1000).rounded()) + Int64(fractionMs)
    }

    /// Formats UTC epoch milliseconds as RFC 3339 in `timeZone` ("2026-01-01T08:00:00+08:00").
    public static func format(ms: Int64, timeZone: TimeZone = TimeZone(identifier: "UTC")!) -> String {
        let offset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(ms) / 1000))
        let local = ms + Int64(offset) * 1000
        let seconds = local.floorDivided(by: 1000)
        let days = seconds.floorDivided(by: 86_400)
        let second = Int(seconds - days * 86_400)
        let (year, month, day) = civil(fromDays: days)
        let zoneText = offset == 0 ? "Z" : (offset < 0 ? "-" : "+") + pad(abs(offset) / 3600) + ":" + pad(abs(offset) % 3600 / 60)
        let millis = Int(local - seconds * 1000)
        let fraction = millis == 0 ? "" : "." + pad(millis, width: 3)
        return pad(year, width: 4) + "-" + pad(month) + "-" + pad(day) + "T" + pad(second / 3600) + ":" + pad(second % 3600 / 60) + ":"
            + pad(second % 60) + fraction + zoneText
    }

    /// Year, month and day of a count of days since 1970-01-01 in the proleptic Gregorian calendar
    /// (H. Hinnant's civil_from_days): arithmetic, where Calendar would be a thousand times slower.
    static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = z.floorDivided(by: 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }
}

/// Zero-pads a non-negative number to `width` digits.
func pad(_ value: Int, width: Int = 2) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

/// Builds the clock of a process from its `--clock-start`, `--clock-speed` and `--clock-anchor` options.
public enum WallClockOptions {
    /// The real clock when no start is given; else a simulated one. Errors are messages for the command line.
    public static func makeClock(start: String?, speed: Double?, anchorMs: Int64?) throws(ClockOptionError) -> any WallClock {
        guard let start else {
            if speed != nil || anchorMs != nil { throw ClockOptionError(message: "--clock-speed and --clock-anchor need --clock-start") }
            return SystemWallClock()
        }
        guard let startMs = ISO8601Time.parseMs(start) else {
            throw ClockOptionError(message: "--clock-start \(start) is not an ISO 8601 date-time such as 2026-01-01T00:00:00+08:00")
        }
        let speed = speed ?? 1
        guard speed > 0, speed.isFinite else { throw ClockOptionError(message: "--clock-speed must be a positive number") }
        return SimulatedWallClock(startMs: startMs, speed: speed, anchorRealMs: anchorMs)
    }
}

/// A bad clock option.
public struct ClockOptionError: Error, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    public var description: String { message }
}

extension ISO8601Time {
    /// "2026-01-01 08:00:00" in `timeZone`, for tables people read.
    public static func formatLocal(ms: Int64, timeZone: TimeZone) -> String {
        let text = format(ms: ms.floorDivided(by: 1000) * 1000, timeZone: timeZone)
        return String(text.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }
}

/// Reads fixed-width numbers and single characters from ASCII bytes, never past the end.
private struct DigitScanner {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index == bytes.count }

    /// Consumes `character` if it comes next.
    mutating func take(_ character: Unicode.Scalar) -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(character.value) else { return false }
        index += 1
        return true
    }

    /// Exactly `count` decimal digits, as a number.
    mutating func number(digits count: Int) -> Int? {
        guard index + count <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[index..<(index + count)] {
            guard (48...57).contains(byte) else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        index += count
        return value
    }

    /// Every decimal digit that comes next.
    mutating func digits() -> [UInt8] {
        let start = index
        while index < bytes.count, (48...57).contains(bytes[index]) { index += 1 }
        return Array(bytes[start..<index])
    }
}
