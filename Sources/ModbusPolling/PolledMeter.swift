import EnergyModel

/// Everything a gateway's poller needs to read one meter: its configuration, register map, the stored
/// series of each point, and the planned requests.
public struct PolledMeter: Sendable, Hashable {
    /// The meter as configured.
    public var meter: MeterConfig
    /// Its register map.
    public var model: MeterModel
    /// Stored series id of each of `model.points`, same order.
    public var seriesIDs: [Int64]
    /// Requests that cover all points, planned for the meter's gateway.
    public var requests: [ReadRequest]

    /// Plans the requests for a meter behind `gateway`.
    public init(meter: MeterConfig, model: MeterModel, seriesIDs: [Int64], gateway: GatewayConfig) {
        precondition(seriesIDs.count == model.points.count, "one series per point")
        self.meter = meter
        self.model = model
        self.seriesIDs = seriesIDs
        self.requests = ReadPlanner.plan(points: model.points, gateway: gateway)
    }

    /// Samples for the points of `request` decoded from its answer, as primary values.
    func samples(for request: ReadRequest, answer: MeterAnswer, timestampMs: Int64) -> [Sample] {
        request.pointIndices.map { index in
            let point = model.points[index]
            let value: Double?
            switch answer {
            case .words(let words):
                let start = point.address - request.address
                value = point.engineeringValue(fromWords: words[start..<start + point.registerCount])
            case .bcd(let bytes):
                value = point.engineeringValue(fromBCD: bytes)
            }
            return Sample(
                seriesID: seriesIDs[index], timestampMs: timestampMs, value: value.map { $0 * meter.primaryFactor(of: point) },
                quality: value == nil ? .outOfRange : .good)
        }
    }

    /// Failure samples for the points of `request`.
    func failedSamples(for request: ReadRequest, quality: SampleQuality, timestampMs: Int64) -> [Sample] {
        request.pointIndices.map { Sample(seriesID: seriesIDs[$0], timestampMs: timestampMs, value: nil, quality: quality) }
    }
}

/// What a meter answered to one read request.
enum MeterAnswer {
    /// Modbus registers.
    case words([UInt16])
    /// The BCD bytes of a DL/T 645 data item (0x33 taken off).
    case bcd([UInt8])
}
