/// What a register point measures; accounting reads `consumption`, `export` and `production` counters.
public enum PointQuantity: String, Sendable, Hashable, CaseIterable {
    /// Energy or medium taken into the boundary (imported kWh, m³ of gas, t of water, kg of steam).
    case consumption
    /// Energy sent out of the boundary, subtracted from comprehensive consumption.
    case export
    /// A combined counter (import + export), informational.
    case total
    /// Output of qualified product.
    case production
    case power, voltage, current, flow, pressure, temperature, other
}

/// Whether a point accumulates (a counter, read as deltas) or is an instantaneous value.
public enum PointKind: String, Sendable, Hashable, CaseIterable {
    case counter, gauge
}

/// One value in a meter's register map.
public struct RegisterPoint: Sendable, Hashable {
    /// Name, unique within the model ("import_energy").
    public var name: String
    /// What it measures.
    public var quantity: PointQuantity
    /// Engineering unit after scaling ("kWh", "m3", "t", "kW").
    public var unit: String
    /// Function code 3 or 4.
    public var function: RegisterFunction
    /// Protocol (0-based) address of the first register.
    public var address: Int
    /// Register layout.
    public var type: RegisterType
    /// Byte order of the registers.
    public var wordOrder: WordOrder
    /// Engineering value = raw × scale + offset.
    public var scale: Double
    /// Engineering value = raw × scale + offset.
    public var offset: Double
    /// Counter or gauge.
    public var kind: PointKind
    /// For counters: the engineering value at which the counter wraps to zero (register width or display maximum).
    public var wrap: Double?
    /// Lowest plausible engineering value; lower readings are stored as out-of-range.
    public var minimum: Double?
    /// Highest plausible engineering value; higher readings are stored as out-of-range.
    public var maximum: Double?
    /// On a DL/T 645 meter, the data item read for the point; function, address, type and word order are then unused.
    public var dataItem: DLT645DataItem?

    /// Creates a point.
    public init(
        name: String, quantity: PointQuantity, unit: String, function: RegisterFunction, address: Int,
        type: RegisterType, wordOrder: WordOrder = .abcd, scale: Double = 1, offset: Double = 0,
        kind: PointKind, wrap: Double? = nil, minimum: Double? = nil, maximum: Double? = nil
    ) {
        self.name = name
        self.quantity = quantity
        self.unit = unit
        self.function = function
        self.address = address
        self.type = type
        self.wordOrder = wordOrder
        self.scale = scale
        self.offset = offset
        self.kind = kind
        self.wrap = wrap
        self.minimum = minimum
        self.maximum = maximum
    }

    /// Creates the point of a DL/T 645 meter that reads `dataItem`, in the item's own unit.
    public init(
        name: String, quantity: PointQuantity, dataItem: DLT645DataItem, scale: Double = 1, kind: PointKind, minimum: Double? = nil,
        maximum: Double? = nil
    ) {
        self.init(
            name: name, quantity: quantity, unit: dataItem.unit, function: .holding, address: 0, type: .u32, scale: scale, kind: kind,
            minimum: minimum, maximum: maximum)
        self.dataItem = dataItem
    }

    /// Registers the point spans.
    public var registerCount: Int { type.registerCount }

    /// The counter's wrap in engineering units: the configured one, else the unsigned register width.
    public var effectiveWrap: Double? {
        guard kind == .counter else { return nil }
        if let wrap { return wrap }
        if let dataItem { return dataItem.wrap * scale }
        return type.unsignedWrap.map { $0 * scale }
    }

    /// Engineering value from raw register words, or nil when it is not finite or outside the valid range.
    public func engineeringValue(fromWords words: some Collection<UInt16>) -> Double? {
        checked(RegisterCodec.decode(words, as: type, order: wordOrder) * scale + offset)
    }

    /// Engineering value from the BCD bytes of a DL/T 645 answer, or nil when they are not BCD or the value is
    /// outside the valid range.
    public func engineeringValue(fromBCD bytes: [UInt8]) -> Double? {
        guard let raw = dataItem?.value(fromBCD: bytes) else { return nil }
        return checked(raw * scale + offset)
    }

    /// `value` if it is finite and within the valid range.
    private func checked(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        if let minimum, value < minimum { return nil }
        if let maximum, value > maximum { return nil }
        return value
    }

    /// DL/T 645 BCD bytes (without the 0x33) that read back as `value`, for the simulator.
    public func bcd(forEngineeringValue value: Double) -> [UInt8] {
        dataItem?.bcd(of: (value - offset) / scale) ?? []
    }

    /// Register words that read back as `value` (the inverse of `engineeringValue`), for the simulator.
    public func words(forEngineeringValue value: Double) -> [UInt16] {
        RegisterCodec.encode((value - offset) / scale, as: type, order: wordOrder)
    }
}

/// A register map defined once and referenced by name from every meter that speaks it.
public struct MeterModel: Sendable, Hashable {
    /// Name meters refer to ("chint_dtsu666").
    public var id: String
    /// Maker and type, for people.
    public var description: String
    /// The points read on every poll.
    public var points: [RegisterPoint]

    /// Creates a model.
    public init(id: String, description: String, points: [RegisterPoint]) {
        self.id = id
        self.description = description
        self.points = points
    }
}
