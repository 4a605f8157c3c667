/// Turns register words into numbers and back, in Swift, with an explicit word order.
///
/// libmodbus's `modbus_get_float_*` helpers are not used: their byte orders changed between versions and
/// are wrong in Debian's 3.1.6 build.
public enum RegisterCodec {
    /// Decodes `type` from exactly `type.registerCount` words as received on the wire.
    public static func decode(_ words: some Collection<UInt16>, as type: RegisterType, order: WordOrder) -> Double {
        precondition(words.count == type.registerCount, "decode needs \(type.registerCount) words")
        let bits = canonicalBits(words, order: order)
        switch type {
        case .u16: return Double(UInt16(truncatingIfNeeded: bits))
        case .i16: return Double(Int16(bitPattern: UInt16(truncatingIfNeeded: bits)))
        case .u32: return Double(UInt32(truncatingIfNeeded: bits))
        case .i32: return Double(Int32(bitPattern: UInt32(truncatingIfNeeded: bits)))
        case .u64: return Double(bits)
        case .i64: return Double(Int64(bitPattern: bits))
        case .f32: return Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
        case .f64: return Double(bitPattern: bits)
        }
    }

    /// Encodes a raw (unscaled) value of `type` into wire words; integers are rounded and clamped to the type.
    public static func encode(_ value: Double, as type: RegisterType, order: WordOrder) -> [UInt16] {
        let bits: UInt64
        switch type {
        case .u16: bits = UInt64(UInt16(clamping: roundedInteger(value)))
        case .i16: bits = UInt64(UInt16(bitPattern: Int16(clamping: roundedInteger(value))))
        case .u32: bits = UInt64(UInt32(clamping: roundedInteger(value)))
        case .i32: bits = UInt64(UInt32(bitPattern: Int32(clamping: roundedInteger(value))))
        case .u64: bits = value <= 0 ? 0 : value >= 18_446_744_073_709_551_616 ? .max : UInt64(value.rounded())
        case .i64: bits = UInt64(bitPattern: roundedInteger(value))
        case .f32: bits = UInt64(Float(value).bitPattern)
        case .f64: bits = value.bitPattern
        }
        return wireWords(bits, count: type.registerCount, order: order)
    }

    private static func roundedInteger(_ value: Double) -> Int64 {
        guard value.isFinite else { return value > 0 ? .max : .min }
        if value >= 9.2e18 { return .max }
        if value <= -9.2e18 { return .min }
        return Int64(value.rounded())
    }

    /// The value's bits, most significant word first, from words in wire order.
    private static func canonicalBits(_ words: some Collection<UInt16>, order: WordOrder) -> UInt64 {
        var ordered = Array(words)
        if order.reversesWords, ordered.count > 1 { ordered.reverse() }
        var bits: UInt64 = 0
        for word in ordered {
            bits = bits << 16 | UInt64(order.swapsBytes ? word.byteSwapped : word)
        }
        return bits
    }

    private static func wireWords(_ bits: UInt64, count: Int, order: WordOrder) -> [UInt16] {
        var words = (0..<count).map { index in
            UInt16(truncatingIfNeeded: bits >> (16 * UInt64(count - 1 - index)))
        }
        if order.swapsBytes { words = words.map(\.byteSwapped) }
        if order.reversesWords, count > 1 { words.reverse() }
        return words
    }
}
