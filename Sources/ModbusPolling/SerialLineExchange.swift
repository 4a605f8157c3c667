import Dispatch
import EnergyModel
import Glibc
import MeterProtocols

/// Request and answer on a serial line (Modbus RTU, DL/T 645) behind a serial device server in transparent mode:
/// the frames travel the TCP stream as they travel the RS-485 line, with no header to tell one answer from another.
/// So one exchange at a time; bytes left from an earlier exchange (a late answer, noise) are drained before each
/// request; each request waits for the line's inter-frame silence; and a garbled, short or foreign answer fails its
/// reading only.
extension ModbusConnection {
    /// Reads `count` registers with function 3 or 4 from the Modbus RTU slave at `unitID`.
    func readRTU(function: RegisterFunction, address: Int, count: Int, unitID: Int) async throws(ModbusFailure) -> [UInt16] {
        let code = UInt8(function.rawValue)
        let request = ModbusRTU.readRequest(unit: UInt8(unitID), function: code, address: address, count: count)
        let frame = try await exchange(request) { ModbusRTU.answerLength(prefix: $0) }
        let answer: ModbusRTU.Answer
        do { answer = try ModbusRTU.answer(in: frame, unit: UInt8(unitID), function: code, count: count) } catch {
            throw .badResponse(error.description)
        }
        switch answer {
        case .registers(let words): return words
        case .exception(let code): throw .exception(code: Int(code))
        }
    }

    /// Reads the data item `identifier` from the DL/T 645 meter at `address` (wire order), following the meter's
    /// further frames while it says more follow; returns the value's BCD bytes.
    func readDLT645(address: [UInt8], identifier: UInt32) async throws(ModbusFailure) -> [UInt8] {
        var value: [UInt8] = []
        var control = DLT645.readData
        var request = DLT645.readRequest(address: address, identifier: identifier, wakeUpBytes: gateway.wakeUpBytes)
        for sequence in UInt8(1)...UInt8.max {
            let frame = try await exchange(request) { DLT645.frameLength(prefix: $0) }
            let answer: DLT645.Answer
            do { answer = try DLT645.answer(in: DLT645.decode(frame), address: address, identifier: identifier, control: control) } catch {
                throw .badResponse(error.description)
            }
            switch answer {
            case .error(let code):
                throw .meterError(code: Int(code))
            case .value(let bytes, let more):
                value += bytes
                guard more else { return value }
                control = DLT645.readFollowUp
                request = DLT645.followUpRequest(
                    address: address, identifier: identifier, sequence: sequence, wakeUpBytes: gateway.wakeUpBytes)
            }
        }
        throw .badResponse("more than 255 follow-up frames")
    }

    /// Sends `request` once the line has been quiet for a frame gap and returns the answer, whose whole length
    /// `length` tells from its first bytes (nil: not yet).
    func exchange(_ request: [UInt8], length: ([UInt8]) -> Int?) async throws(ModbusFailure) -> [UInt8] {
        guard isConnected else { throw .connectionLost("not connected") }
        var stale: [UInt8] = []
        try receiveWaiting(into: &stale)
        let gapNs = UInt64(gateway.interFrameGapMicroseconds) * 1000
        if DispatchTime.now().uptimeNanoseconds < lineQuietSince + gapNs {
            await worker.sleep(owner: owner, until: lineQuietSince + gapNs)
        }
        try send(request)
        let deadline = timeoutDeadline()
        var received: [UInt8] = []
        defer { lineQuietSince = DispatchTime.now().uptimeNanoseconds }
        while true {
            try receiveWaiting(into: &received)
            if let expected = length(received), received.count >= expected { return Array(received.prefix(expected)) }
            if await worker.wait(for: socket, until: .readable, owner: owner, deadline: deadline) == .timedOut {
                try receiveWaiting(into: &received)
                if let expected = length(received), received.count >= expected { return Array(received.prefix(expected)) }
                if received.isEmpty { throw .timeout }
                let expected = length(received).map { " of \($0)" } ?? ""
                throw .badResponse("short frame: \(received.count)\(expected) bytes before the timeout")
            }
        }
    }

    /// Appends every byte waiting in the socket, without waiting for more.
    private func receiveWaiting(into bytes: inout [UInt8]) throws(ModbusFailure) {
        var chunk = [UInt8](repeating: 0, count: 512)
        while true {
            let count = recv(socket, &chunk, chunk.count, Int32(MSG_DONTWAIT))
            if count > 0 {
                bytes += chunk[0..<count]
                continue
            }
            if count == 0 { throw .connectionLost("closed by the gateway") }
            if errno == EAGAIN || errno == EWOULDBLOCK { return }
            if errno == EINTR { continue }
            throw ModbusConnection.classify(errno)
        }
    }

    /// Writes a whole request; a request is a few bytes, so the socket's buffer always has room for it.
    private func send(_ request: [UInt8]) throws(ModbusFailure) {
        let sent = Glibc.send(socket, request, request.count, Int32(MSG_NOSIGNAL))
        guard sent == request.count else {
            throw sent < 0 ? ModbusConnection.classify(errno) : .connectionLost("\(sent) of \(request.count) bytes sent")
        }
    }
}
