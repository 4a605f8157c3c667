/// One read request: a block of Modbus registers of one function covering one or more points, or the DL/T 645
/// data item of one point.
public struct ReadRequest: Sendable, Hashable {
    /// Function code 3 or 4.
    public var function: RegisterFunction
    /// First register address.
    public var address: Int
    /// Number of registers.
    public var count: Int
    /// Indices (into the model's points) of the points the block covers.
    public var pointIndices: [Int]
    /// The DL/T 645 data item read instead of registers.
    public var dataItem: DLT645DataItem?

    /// Creates a request.
    public init(function: RegisterFunction, address: Int, count: Int, pointIndices: [Int]) {
        self.function = function
        self.address = address
        self.count = count
        self.pointIndices = pointIndices
    }

    /// A read of one point's DL/T 645 data item.
    public init(dataItem: DLT645DataItem, pointIndex: Int) {
        self.init(function: .holding, address: 0, count: 0, pointIndices: [pointIndex])
        self.dataItem = dataItem
    }
}

/// Groups a meter's points into as few requests as the gateway allows.
public enum ReadPlanner {
    /// Points sorted by function and address, merged while the block stays within `maxRegistersPerRequest`
    /// and the hole between two points is at most `maxGapRegisters`; one request per point when asked to.
    public static func plan(points: [RegisterPoint], gateway: GatewayConfig) -> [ReadRequest] {
        let order = points.indices.sorted {
            (points[$0].function, points[$0].address) < (points[$1].function, points[$1].address)
        }
        var requests: [ReadRequest] = []
        for index in order {
            let point = points[index]
            // A DL/T 645 read asks for one data item.
            if let item = point.dataItem {
                requests.append(ReadRequest(dataItem: item, pointIndex: index))
                continue
            }
            let end = point.address + point.registerCount
            if !gateway.oneRequestPerPoint, var last = requests.last, last.function == point.function,
                point.address - (last.address + last.count) <= gateway.maxGapRegisters,
                max(end, last.address + last.count) - last.address <= gateway.maxRegistersPerRequest
            {
                last.count = max(end, last.address + last.count) - last.address
                last.pointIndices.append(index)
                requests[requests.count - 1] = last
            } else {
                requests.append(
                    ReadRequest(function: point.function, address: point.address, count: point.registerCount, pointIndices: [index]))
            }
        }
        return requests
    }
}
