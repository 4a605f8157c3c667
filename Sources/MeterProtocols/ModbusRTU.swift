/// Modbus RTU framing (Modbus over Serial Line V1.02, §2.5.1): the slave address, the PDU, and a CRC-16 sent low
/// byte first. Only what a reading master and a simulated meter need: functions 3 and 4 and exception answers.
public enum ModbusRTU {
    /// Bytes of a read request: address, function, start, quantity, CRC.
    public static let readRequestLength = 8

    /// CRC-16/MODBUS (reflected polynomial 0xA001, initial 0xFFFF) of `bytes`.
    public static func crc(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0xFFFF
        for byte in bytes {
            crc ^= UInt16(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
        }
        return crc
    }

    /// `bytes` followed by their CRC, low byte first.
    public static func framed(_ bytes: [UInt8]) -> [UInt8] {
        let crc = crc(bytes)
        return bytes + [UInt8(crc & 0xFF), UInt8(crc >> 8)]
    }

    /// Whether the last two bytes of `frame` are the CRC of the bytes before them.
    public static func hasValidCRC(_ frame: [UInt8]) -> Bool {
        guard frame.count >= 4 else { return false }
        return crc(frame.dropLast(2)) == UInt16(frame[frame.count - 2]) | UInt16(frame[frame.count - 1]) << 8
    }

    /// A read-registers request (function 3 or 4) to the slave at `unit`.
    public static func readRequest(unit: UInt8, function: UInt8, address: Int, count: Int) -> [UInt8] {
        framed([unit, function, UInt8(address >> 8), UInt8(address & 0xFF), UInt8(count >> 8), UInt8(count & 0xFF)])
    }

    /// How long the answer frame that starts with `prefix` is: nil while fewer than three bytes have arrived, the
    /// length once the byte count or the exception flag tells it.
    public static func answerLength(prefix: some Collection<UInt8>) -> Int? {
        guard prefix.count >= 3 else { return nil }
        let bytes = Array(prefix.prefix(3))
        return bytes[1] & 0x80 != 0 ? 5 : 5 + Int(bytes[2])
    }

    /// What a slave answered to a read.
    public enum Answer: Sendable, Equatable {
        /// The registers read.
        case registers([UInt16])
        /// A Modbus exception code.
        case exception(UInt8)
    }

    /// Why an answer frame is not the answer to the request sent.
    public enum FrameError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The CRC does not match the bytes: noise on the line.
        case badCRC
        /// The frame came from another slave (or from nobody: line noise that looks like a header).
        case foreignUnit(UInt8)
        /// The frame answers another function.
        case foreignFunction(UInt8)
        /// The frame holds another number of registers than asked for.
        case wrongCount(Int)

        public var description: String {
            switch self {
            case .badCRC: "CRC error"
            case .foreignUnit(let unit): "frame from unit \(unit)"
            case .foreignFunction(let function): "frame of function \(function)"
            case .wrongCount(let count): "\(count) registers in the answer"
            }
        }
    }

    /// The answer in a complete `frame`, checked against the request it should answer.
    public static func answer(
        in frame: [UInt8], unit: UInt8, function: UInt8, count: Int
    ) throws(FrameError) -> Answer {
        guard hasValidCRC(frame) else { throw .badCRC }
        guard frame[0] == unit else { throw .foreignUnit(frame[0]) }
        if frame[1] == function | 0x80, frame.count == 5 { return .exception(frame[2]) }
        guard frame[1] == function else { throw .foreignFunction(frame[1]) }
        guard Int(frame[2]) == 2 * count, frame.count == 5 + 2 * count else { throw .wrongCount((frame.count - 5) / 2) }
        return .registers((0..<count).map { UInt16(frame[3 + 2 * $0]) << 8 | UInt16(frame[4 + 2 * $0]) })
    }
}
