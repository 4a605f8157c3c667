/// A DL/T 645-2007 data item a meter answers a read with (Appendix A): its identifier, and how its value is
/// written in BCD, low byte first, the highest bit of the highest byte a sign where the item can be negative.
public struct DLT645DataItem: Sendable, Hashable {
    /// The data identifier DI3 DI2 DI1 DI0 ("00010000": forward active energy, total).
    public var identifier: UInt32
    /// Bytes of the value.
    public var byteCount: Int
    /// Decimal places (XXXXXX.XX: 2).
    public var decimals: Int
    /// Whether the highest bit is a sign.
    public var isSigned: Bool
    /// The unit the value is written in.
    public var unit: String

    /// The item `identifier` names, if energyd knows how its value is written.
    public init?(identifier: UInt32) {
        let group = identifier >> 16
        let item = (identifier >> 8) & 0xFF
        switch group {
        // Energy, total (DI1 00) and per tariff (01…3F), DI0 00 (the current period).
        case 0x0000...0x000A where item <= 0x3F && identifier & 0xFF == 0:
            let unit = group <= 0x0002 ? "kWh" : group <= 0x0008 ? "kvarh" : "kVAh"
            // Combined active and combined reactive energy can be negative; the others only count up.
            self.init(identifier, bytes: 4, decimals: 2, signed: [0x0000, 0x0003, 0x0004].contains(group), unit: unit)
        case 0x0201 where (1...3).contains(item) && identifier & 0xFF == 0:  // phase voltage XXX.X
            self.init(identifier, bytes: 2, decimals: 1, signed: false, unit: "V")
        case 0x0202 where (1...3).contains(item) && identifier & 0xFF == 0:  // phase current XXX.XXX
            self.init(identifier, bytes: 3, decimals: 3, signed: true, unit: "A")
        case 0x0203, 0x0204, 0x0205:  // active, reactive, apparent power XX.XXXX, total (00) or phase (01…03)
            guard item <= 3, identifier & 0xFF == 0 else { return nil }
            self.init(identifier, bytes: 3, decimals: 4, signed: true, unit: ["kW", "kvar", "kVA"][Int(group - 0x0203)])
        case 0x0206:  // power factor X.XXX
            guard item <= 3, identifier & 0xFF == 0 else { return nil }
            self.init(identifier, bytes: 2, decimals: 3, signed: true, unit: "")
        default:
            return nil
        }
    }

    private init(_ identifier: UInt32, bytes: Int, decimals: Int, signed: Bool, unit: String) {
        self.identifier = identifier
        self.byteCount = bytes
        self.decimals = decimals
        self.isSigned = signed
        self.unit = unit
    }

    /// The identifier as written in configurations: eight hexadecimal digits, DI3 first.
    public var text: String {
        let digits = String(identifier, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// The identifier read from its configuration text ("00010000").
    public static func identifier(_ text: String) -> UInt32? {
        guard text.count == 8, text.allSatisfy(\.isHexDigit) else { return nil }
        return UInt32(text, radix: 16)
    }

    /// Where the value's digits run out: 999 999.99 kWh wraps to 0 at 1 000 000.
    public var wrap: Double { pow10(2 * byteCount - decimals) }

    /// The value of its BCD bytes (low byte first, 0x33 already taken off), or nil when a digit is not decimal.
    public func value(fromBCD bytes: [UInt8]) -> Double? {
        guard bytes.count == byteCount else { return nil }
        var magnitude: UInt64 = 0
        var negative = false
        for (index, byte) in bytes.enumerated().reversed() {
            var byte = byte
            if index == byteCount - 1, isSigned {
                negative = byte & 0x80 != 0
                byte &= 0x7F
            }
            guard byte >> 4 <= 9, byte & 0x0F <= 9 else { return nil }
            magnitude = magnitude * 100 + UInt64(byte >> 4) * 10 + UInt64(byte & 0x0F)
        }
        let value = Double(magnitude) / pow10(decimals)
        return negative ? -value : value
    }

    /// The BCD bytes (low byte first, without the 0x33) that read back as `value`, rounded to the item's decimals
    /// and kept within its digits; for the simulator.
    public func bcd(of value: Double) -> [UInt8] {
        let scaled = (abs(value) * pow10(decimals)).rounded()
        var magnitude = UInt64(scaled.truncatingRemainder(dividingBy: wrap * pow10(decimals)))
        var bytes: [UInt8] = []
        for _ in 0..<byteCount {
            let pair = magnitude % 100
            bytes.append(UInt8(pair / 10) << 4 | UInt8(pair % 10))
            magnitude /= 100
        }
        if isSigned, value < 0 { bytes[byteCount - 1] |= 0x80 }
        return bytes
    }

    private func pow10(_ exponent: Int) -> Double { (0..<exponent).reduce(1) { product, _ in product * 10 } }
}
