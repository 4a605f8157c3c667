import Foundation

/// How much a serial line behind a serial device server can carry. Its meters share one RS-485 line and answer one
/// request at a time: each read costs its request's and its answer's bytes at the line's speed, the silence between
/// frames, and the meter's turnaround. A 2400-baud DL/T 645 line carries about four reads a second.
public enum LineCapacity {
    /// A meter's time from the end of a request to the start of its answer: DL/T 645-2007 allows up to 500 ms;
    /// meters in the field take 20–100.
    public static let turnaroundSeconds = 0.05
    /// Seconds one read takes on the line of `gateway`.
    public static func secondsPerRead(_ request: ReadRequest, gateway: GatewayConfig) -> Double {
        let bytes: Int
        if let item = request.dataItem {
            // Each frame: wake-up bytes, 68, address, 68, control, length, data, checksum, 16; the answer repeats the
            // four-byte identifier before the value.
            bytes = 2 * (gateway.wakeUpBytes + 12) + 4 + 4 + item.byteCount
        } else {
            // Address, function, start, quantity, CRC; the answer's address, function, byte count, registers, CRC.
            bytes = 8 + 5 + 2 * request.count
        }
        let frameGaps = 2 * Double(gateway.interFrameGapMicroseconds) / 1_000_000
        return Double(bytes * GatewayConfig.bitsPerCharacter) / Double(gateway.baudRate) + frameGaps + turnaroundSeconds
    }

    /// Seconds of line time each second of polling takes: above 1 the configured intervals cannot be met.
    public static func load(of gateway: GatewayConfig, meters: [(meter: MeterConfig, model: MeterModel)]) -> Double {
        let requests = meters.map { ($0.meter, ReadPlanner.plan(points: $0.model.points, gateway: gateway)) }
        return requests.reduce(0) { total, entry in
            total + entry.1.reduce(0) { $0 + secondsPerRead($1, gateway: gateway) } / Double(entry.0.intervalSeconds)
        }
    }

    /// One line per serial gateway whose meters' intervals its line cannot hold, saying what it can hold.
    public static func warnings(for configuration: EnergyConfiguration) -> [String] {
        let meters = Dictionary(grouping: configuration.meters.map(\.meter), by: \.gateway)
        return configuration.gateways.values.filter(\.wire.isSerialLine).sorted { $0.id < $1.id }.compactMap { gateway in
            let onLine = (meters[gateway.id] ?? []).compactMap { meter in configuration.models[meter.model].map { (meter, $0) } }
            let load = load(of: gateway, meters: onLine)
            guard load > 1 else { return nil }
            // Stretching every interval by the load fits the polls into the line's time.
            let shortest = onLine.map(\.0.intervalSeconds).min() ?? 1
            return "gateway \"\(gateway.id)\" (\(gateway.wire.rawValue), \(gateway.baudRate) baud): its \(onLine.count) meters "
                + "need \(fixed(load)) s of line time a second; the line holds these polls at intervals "
                + "\(fixed(load)) times longer (the shortest, \(shortest) s, would become "
                + "\(Int((Double(shortest) * load).rounded(.up))) s)"
        }
    }
}
