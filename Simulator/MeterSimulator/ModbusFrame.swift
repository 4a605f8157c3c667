/// A Modbus TCP request as it arrived: MBAP header fields and the PDU.
public struct ModbusRequestFrame: Sendable, Hashable {
    /// Transaction id, echoed in the answer.
    public var transactionID: UInt16
    /// Protocol id (0 for Modbus).
    public var protocolID: UInt16
    /// Unit id (the meter behind the gateway).
    public var unitID: UInt8
    /// Function code.
    public var function: UInt8
    /// PDU bytes after the function code.
    public var data: [UInt8]

    /// Start address and quantity of a read request, if the data holds them.
    public var readRange: (address: Int, count: Int)? {
        guard data.count >= 4 else { return nil }
        return (Int(data[0]) << 8 | Int(data[1]), Int(data[2]) << 8 | Int(data[3]))
    }
}

/// Encodes and decodes MBAP frames (Modbus Application Protocol header, 7 bytes, then the PDU).
public enum ModbusFraming {
    /// Bytes of the MBAP header up to and including the unit id.
    public static let headerLength = 7

    /// Length of the whole frame whose first 6 bytes are `prefix`, or nil if the length field is impossible.
    public static func frameLength(prefix: some Collection<UInt8>) -> Int? {
        guard prefix.count >= 6 else { return nil }
        let bytes = Array(prefix.prefix(6))
        let length = Int(bytes[4]) << 8 | Int(bytes[5])
        // Length counts unit id + PDU: at least unit + function, at most 254 (a 253-byte PDU).
        guard (2...254).contains(length) else { return nil }
        return 6 + length
    }

    /// Parses one complete frame.
    public static func decode(_ frame: [UInt8]) -> ModbusRequestFrame? {
        guard frame.count >= 8, frameLength(prefix: frame) == frame.count else { return nil }
        return ModbusRequestFrame(
            transactionID: UInt16(frame[0]) << 8 | UInt16(frame[1]), protocolID: UInt16(frame[2]) << 8 | UInt16(frame[3]),
            unitID: frame[6], function: frame[7], data: Array(frame[8...]))
    }

    /// A frame answering `request` with `pdu` (function code first).
    public static func encode(answering request: ModbusRequestFrame, pdu: [UInt8], protocolID: UInt16 = 0) -> [UInt8] {
        let length = pdu.count + 1
        return [
            UInt8(request.transactionID >> 8), UInt8(request.transactionID & 0xFF), UInt8(protocolID >> 8),
            UInt8(protocolID & 0xFF), UInt8(length >> 8), UInt8(length & 0xFF), request.unitID,
        ] + pdu
    }

    /// An exception PDU.
    public static func exceptionPDU(function: UInt8, code: UInt8) -> [UInt8] { [function | 0x80, code] }

    /// A read-registers answer PDU.
    public static func registersPDU(function: UInt8, words: [UInt16]) -> [UInt8] {
        var pdu: [UInt8] = [function, UInt8(words.count * 2)]
        pdu.reserveCapacity(2 + words.count * 2)
        for word in words {
            pdu.append(UInt8(word >> 8))
            pdu.append(UInt8(word & 0xFF))
        }
        return pdu
    }
}
