import EnergyModel
import Foundation
import NIOCore
import NIOPosix

/// The run-time control protocol: one command per line, one answer line each.
///
/// - `fault KIND TARGET [duration_s=N] [parameter=X]`: starts a fault now.
/// - `clear [TARGET]`: ends the faults on TARGET (all when omitted).
/// - `faults`: lists the faults.
/// - `counts`: requests received by function code.
/// - `time`: the simulated time.
public enum ControlCommand {
    /// Executes one command line against `plant`; the answer starts with "ok" or "error".
    public static func execute(_ line: String, plant: SimulatedPlant) -> String {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let verb = words.first else { return "error: empty command" }
        let now = plant.clock.nowMs()
        switch verb {
        case "fault":
            guard words.count >= 3, let kind = FaultKind(rawValue: words[1]) else {
                return "error: usage: fault KIND TARGET [duration_s=N] [parameter=X]; KIND is one of "
                    + FaultKind.allCases.map(\.rawValue).joined(separator: ", ")
            }
            let target = words[2]
            guard plant.meters[target] != nil || plant.scenario.configuration.gateways[target] != nil else {
                return "error: \(target) is neither a gateway nor a meter"
            }
            var fault = FaultSpec(kind: kind, target: target, startMs: now)
            for option in words.dropFirst(3) {
                let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let number = Double(parts[1]), number.isFinite else { return "error: bad option \(option)" }
                switch parts[0] {
                case "duration_s":
                    guard (1...31_536_000).contains(number) else { return "error: duration_s must be 1…31536000 (a year)" }
                    fault.endMs = now + Int64(number * 1000)
                case "parameter":
                    guard let allowed = kind.parameterRange else { return "error: \(kind.rawValue) takes no parameter" }
                    guard allowed.range.contains(number) else {
                        return
                            "error: parameter of \(kind.rawValue) is \(allowed.meaning), \(allowed.range.lowerBound)…\(allowed.range.upperBound)"
                    }
                    fault.parameter = number
                default: return "error: unknown option \(parts[0])"
                }
            }
            if kind == .rollover {
                guard let meter = plant.meters[target], meter.accountingPoint.map({ meter.model.points[$0].effectiveWrap != nil }) ?? false
                else {
                    return "error: \(target) is not a meter whose counter wraps"
                }
                // A counter wraps only from near its wrap: move it there now, and let it wrap `parameter` seconds later.
                fault.movedMs = now
                fault.startMs = now + Int64((fault.parameter ?? 900) * 1000)
            }
            plant.faults.add(fault)
            if kind == .rollover {
                return "ok rollover on \(target): below its wrap now, wraps at \(ISO8601Time.format(ms: fault.startMs))"
            }
            return "ok \(kind.rawValue) on \(target) from \(ISO8601Time.format(ms: now))"
        case "clear":
            let ended = plant.faults.clear(target: words.count > 1 ? words[1] : nil, at: now)
            return "ok cleared \(ended)"
        case "faults":
            let list = plant.faults.all.map { fault in
                "\(fault.kind.rawValue):\(fault.target)@\(ISO8601Time.format(ms: fault.startMs))"
                    + (fault.endMs.map { "..\(ISO8601Time.format(ms: $0))" } ?? "")
            }
            return "ok " + (list.isEmpty ? "none" : list.joined(separator: " "))
        case "counts":
            return "ok " + plant.requests.summary
        case "time":
            return "ok " + ISO8601Time.format(ms: now)
        default:
            return "error: unknown command \(verb); commands: fault, clear, faults, counts, time"
        }
    }
}

/// Splits a byte stream into lines.
struct LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = String

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > 4096 { throw MalformedRequest() }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        let line = buffer.readString(length: length) ?? ""
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(wrapInboundOut(line.trimmingCharacters(in: .whitespacesAndNewlines)))
        return .continue
    }
}

/// Answers control commands on a TCP connection.
final class ControlHandler: ChannelInboundHandler {
    typealias InboundIn = String
    typealias OutboundOut = ByteBuffer
    private let plant: SimulatedPlant

    init(plant: SimulatedPlant) { self.plant = plant }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let answer = ControlCommand.execute(unwrapInboundIn(data), plant: plant) + "\n"
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: answer)), promise: nil)
    }
}

extension MeterSimulatorServer {
    /// Listens for control commands on `host:port` (port 0: any free port); returns the bound port.
    public func startControl(host: String, port: Int) async throws -> Int {
        let plant = self.plant
        let channel = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder()))
                    try channel.pipeline.syncOperations.addHandler(ControlHandler(plant: plant))
                }
            }
            .bind(host: host, port: port).get()
        return channel.localAddress?.port ?? port
    }
}
