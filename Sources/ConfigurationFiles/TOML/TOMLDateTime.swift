import EnergyModel

/// A TOML date, time or date-time, checked field by field (RFC 3339 as TOML 1.0 narrows it).
struct TOMLDateTime {
    /// toml-test's names for the four kinds.
    enum Kind: String {
        case offsetDateTime = "datetime"
        case localDateTime = "datetime-local"
        case localDate = "date-local"
        case localTime = "time-local"
    }

    let kind: Kind

    /// nil unless `text` is one of the four forms with every field in range (29 February only in leap years,
    /// second 60 allowed for a leap second, offsets up to ±23:59).
    init?(_ text: String) {
        let b = Array(text.utf8)
        var i = 0
        func number(_ count: Int) -> Int? {
            guard i + count <= b.count, b[i..<i + count].allSatisfy({ (48...57).contains($0) }) else { return nil }
            defer { i += count }
            return b[i..<i + count].reduce(0) { $0 * 10 + Int($1 - 48) }
        }
        func take(_ byte: UInt8) -> Bool {
            guard i < b.count, b[i] == byte else { return false }
            i += 1
            return true
        }
        func time() -> Bool {
            guard let hour = number(2), hour < 24, take(58), let minute = number(2), minute < 60, take(58),
                let second = number(2), second <= 60
            else { return false }
            if take(46) {
                let start = i
                while i < b.count, (48...57).contains(b[i]) { i += 1 }
                return i > start
            }
            return true
        }
        var hasDate = false
        if b.count >= 10, b[4] == 45 {
            guard let year = number(4), take(45), let month = number(2), (1...12).contains(month), take(45), let day = number(2)
            else { return nil }
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
            guard (1...days).contains(day) else { return nil }
            hasDate = true
            if i == b.count {
                kind = .localDate
                return
            }
            guard i < b.count, [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(b[i]) else { return nil }
            i += 1
        }
        guard time() else { return nil }
        if i == b.count {
            kind = hasDate ? .localDateTime : .localTime
            return
        }
        guard hasDate else { return nil }
        if take(UInt8(ascii: "Z")) || take(UInt8(ascii: "z")) {
        } else if take(43) || take(45) {
            guard let hours = number(2), hours < 24, take(58), let minutes = number(2), minutes < 60 else { return nil }
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        kind = .offsetDateTime
    }
}
