/// DL/T 645-2007 frames (multi-function watt-hour meter communication protocol, §4): optional FE wake-up bytes,
/// 68, the meter's address (six BCD bytes, low byte first), 68, the control code, the data length, the data with
/// 0x33 added to each byte, a checksum (the byte sum from the first 68) and 16. Only what a reading master and a
/// simulated meter need: read data (0x11), its follow-up (0x12), and their normal and error answers.
public enum DLT645 {
    /// Control code of a read.
    public static let readData: UInt8 = 0x11
    /// Control code that asks for the next frame of an answer that said more follows.
    public static let readFollowUp: UInt8 = 0x12

    /// The address bytes in wire order of a twelve-digit nameplate address ("123456781012" → 12 10 78 56 34 12).
    public static func addressBytes(_ digits: String) -> [UInt8]? {
        let values = digits.utf8.map { Int($0) - 48 }
        guard values.count == 12, values.allSatisfy({ (0...9).contains($0) }) else { return nil }
        return stride(from: 10, through: 0, by: -2).map { UInt8(values[$0] << 4 | values[$0 + 1]) }
    }

    /// The nameplate address of address bytes in wire order.
    public static func addressText(_ bytes: [UInt8]) -> String {
        bytes.reversed().map { String($0 >> 4, radix: 16) + String($0 & 0x0F, radix: 16) }.joined()
    }

    /// A whole frame.
    public static func frame(address: [UInt8], control: UInt8, data: [UInt8], wakeUpBytes: Int = 4) -> [UInt8] {
        let body = [0x68] + address + [0x68, control, UInt8(data.count)] + data.map { $0 &+ 0x33 }
        return [UInt8](repeating: 0xFE, count: wakeUpBytes) + body + [checksum(body), 0x16]
    }

    /// The request for the data item `identifier`.
    public static func readRequest(address: [UInt8], identifier: UInt32, wakeUpBytes: Int = 4) -> [UInt8] {
        frame(address: address, control: readData, data: littleEndian(identifier), wakeUpBytes: wakeUpBytes)
    }

    /// The request for frame `sequence` (1, 2 …) that follows an answer about `identifier`.
    public static func followUpRequest(address: [UInt8], identifier: UInt32, sequence: UInt8, wakeUpBytes: Int = 4) -> [UInt8] {
        frame(address: address, control: readFollowUp, data: littleEndian(identifier) + [sequence], wakeUpBytes: wakeUpBytes)
    }

    /// How many bytes the frame at the start of `prefix` takes, wake-up bytes included: nil until its length byte
    /// has arrived. Bytes that cannot start a frame count as a whole frame, for `decode` to refuse.
    public static func frameLength(prefix: [UInt8]) -> Int? {
        let lead = prefix.prefix { $0 == 0xFE }.count
        guard prefix.count > lead else { return nil }
        guard prefix[lead] == 0x68 else { return prefix.count }
        guard prefix.count >= lead + 10 else { return nil }
        return lead + 12 + Int(prefix[lead + 9])
    }

    /// A frame's fields, the 0x33 taken off the data.
    public struct Frame: Sendable, Equatable {
        /// The address bytes in wire order.
        public var address: [UInt8]
        /// The control code.
        public var control: UInt8
        /// The data.
        public var data: [UInt8]

        /// Creates a frame's fields.
        public init(address: [UInt8], control: UInt8, data: [UInt8]) {
            self.address = address
            self.control = control
            self.data = data
        }
    }

    /// Why bytes are not the frame expected.
    public enum FrameError: Error, Sendable, Equatable, CustomStringConvertible {
        /// No 68 … 68 … 16 frame.
        case notAFrame
        /// The checksum does not match: noise on the line.
        case badChecksum
        /// The frame came from another meter.
        case foreignAddress(String)
        /// The frame answers another command.
        case foreignControl(UInt8)
        /// The frame answers about another data item.
        case foreignIdentifier(UInt32)

        public var description: String {
            switch self {
            case .notAFrame: "not a DL/T 645 frame"
            case .badChecksum: "checksum error"
            case .foreignAddress(let address): "frame from meter \(address)"
            case .foreignControl(let control): "frame with control code \(hex(control))"
            case .foreignIdentifier(let identifier): "frame about data item \(String(identifier, radix: 16))"
            }
        }
    }

    /// The fields of a complete frame (wake-up bytes allowed before it).
    public static func decode(_ bytes: [UInt8]) throws(FrameError) -> Frame {
        let body = Array(bytes.drop { $0 == 0xFE })
        guard body.count >= 12, body[0] == 0x68, body[7] == 0x68, body.count == 12 + Int(body[9]), body.last == 0x16 else {
            throw .notAFrame
        }
        guard checksum(body.dropLast(2)) == body[body.count - 2] else { throw .badChecksum }
        return Frame(address: Array(body[1...6]), control: body[8], data: body[10..<(body.count - 2)].map { $0 &- 0x33 })
    }

    /// What a meter answered to a read.
    public enum Answer: Sendable, Equatable {
        /// The value's bytes; `more` when the meter has a further frame of it.
        case value([UInt8], more: Bool)
        /// An error answer, with its error byte (bit 1: no such data, bit 2: not authorised …).
        case error(UInt8)
    }

    /// The answer in `frame` to a read of `identifier` from the meter at `address` sent with `control`.
    public static func answer(in frame: Frame, address: [UInt8], identifier: UInt32, control: UInt8 = readData) throws(FrameError)
        -> Answer
    {
        guard frame.address == address else { throw .foreignAddress(addressText(frame.address)) }
        switch frame.control {
        case control | 0xC0:
            guard let code = frame.data.first else { throw .notAFrame }
            return .error(code)
        case control | 0x80, control | 0xA0:
            guard frame.data.count >= 4 else { throw .notAFrame }
            let answered = frame.data.prefix(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard answered == identifier else { throw .foreignIdentifier(answered) }
            // A follow-up answer ends with its sequence number.
            let value = control == readFollowUp ? frame.data.dropFirst(4).dropLast() : frame.data.dropFirst(4)
            return .value(Array(value), more: frame.control & 0x20 != 0)
        default:
            throw .foreignControl(frame.control)
        }
    }

    /// What an error byte says, in the standard's words.
    public static func errorText(_ code: UInt8) -> String {
        let meanings = ["其他错误", "无请求数据", "密码错/未授权", "通信速率不能更改", "年时区数超", "日时段数超", "费率数超"]
        let set = meanings.indices.filter { code & (1 << $0) != 0 }.map { meanings[$0] }
        return set.isEmpty ? "未知错误" : set.joined(separator: "、")
    }

    /// The byte sum of a frame from its first 68, modulo 256.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt8 { bytes.reduce(0, &+) }

    private static func littleEndian(_ identifier: UInt32) -> [UInt8] { (0..<4).map { UInt8(identifier >> (8 * $0) & 0xFF) } }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return digits.count == 1 ? "0" + digits : digits
    }
}
