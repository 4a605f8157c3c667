/// The Modbus read function a point is read with. Only these two ever go on the wire: energyd is read-only.
public enum RegisterFunction: Int, Sendable, Hashable, CaseIterable, Comparable {
    /// Function code 3, read holding registers.
    case holding = 3
    /// Function code 4, read input registers.
    case input = 4

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// How a point's value is laid out in 16-bit registers.
public enum RegisterType: String, Sendable, Hashable, CaseIterable {
    case u16, i16, u32, i32, u64, i64, f32, f64

    /// Number of 16-bit registers the type spans.
    public var registerCount: Int {
        switch self {
        case .u16, .i16: 1
        case .u32, .i32, .f32: 2
        case .u64, .i64, .f64: 4
        }
    }

    /// Whether the type is an integer, whose counters wrap at the register width.
    public var isInteger: Bool { self != .f32 && self != .f64 }

    /// The value after which an unsigned integer counter wraps to zero (2^bits), nil for signed and float types.
    public var unsignedWrap: Double? {
        switch self {
        case .u16: 65_536
        case .u32: 4_294_967_296
        case .u64: 18_446_744_073_709_551_616
        default: nil
        }
    }
}

/// Byte order of a multi-register value, named by where bytes A (most significant) … D land.
///
/// ABCD: big-endian, high word first (Modbus default). CDAB: low word first. BADC: bytes swapped in each
/// word, high word first. DCBA: fully little-endian. For 64-bit values the same rule extends to four words
/// (CDAB reverses the word order); for 16-bit values only the byte swap (BADC, DCBA) applies.
public enum WordOrder: String, Sendable, Hashable, CaseIterable {
    case abcd = "ABCD"
    case cdab = "CDAB"
    case badc = "BADC"
    case dcba = "DCBA"

    /// Whether the registers arrive lowest word first.
    var reversesWords: Bool { self == .cdab || self == .dcba }
    /// Whether the two bytes inside each register are swapped.
    var swapsBytes: Bool { self == .badc || self == .dcba }
}
