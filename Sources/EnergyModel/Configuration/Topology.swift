/// A Modbus TCP gateway (or a meter with its own Ethernet port): one connection, requests serialised on it.
public struct GatewayConfig: Sendable, Hashable {
    /// Name meters refer to.
    public var id: String
    /// Host name or address.
    public var host: String
    /// TCP port, 502 by default.
    public var port: Int
    /// What the gateway speaks on its TCP port.
    public var wire: WireProtocol
    /// Speed of the serial line behind a serial device server (for its frame gaps and how many reads it can carry).
    public var baudRate: Int
    /// FE bytes sent before each DL/T 645 frame to wake the meters' receivers (0–4).
    public var wakeUpBytes: Int
    /// How long to wait for connect and for each answer.
    public var timeoutMs: Int
    /// Pause between two requests on the connection (slow serial gateways need one).
    public var pauseBetweenRequestsMs: Int
    /// Pause after connecting before the first request.
    public var pauseAfterConnectMs: Int
    /// Most registers one request may ask for (Modbus allows 125).
    public var maxRegistersPerRequest: Int
    /// Unused registers a merged request may read across to join two points.
    public var maxGapRegisters: Int
    /// Read each point with its own request (for devices that refuse block reads).
    public var oneRequestPerPoint: Bool

    /// Creates a gateway with field defaults.
    public init(
        id: String, host: String, port: Int = 502, wire: WireProtocol = .modbusTCP, baudRate: Int = 9600, timeoutMs: Int = 1000,
        pauseBetweenRequestsMs: Int = 0, pauseAfterConnectMs: Int = 0, maxRegistersPerRequest: Int = 125, maxGapRegisters: Int = 16,
        oneRequestPerPoint: Bool = false
    ) {
        self.id = id
        self.host = host
        self.port = port
        self.wire = wire
        self.baudRate = baudRate
        self.wakeUpBytes = 4
        self.timeoutMs = timeoutMs
        self.pauseBetweenRequestsMs = pauseBetweenRequestsMs
        self.pauseAfterConnectMs = pauseAfterConnectMs
        self.maxRegistersPerRequest = maxRegistersPerRequest
        self.maxGapRegisters = maxGapRegisters
        self.oneRequestPerPoint = oneRequestPerPoint
    }

    /// Bits a character takes on a serial line: start bit, 8 data bits, parity (DL/T 645 is 8E1) or a second stop
    /// bit, stop bit.
    public static let bitsPerCharacter = 11

    /// The silence that separates two frames on the serial line behind the gateway: 3.5 characters, and a fixed
    /// 1.75 ms above 19 200 baud (Modbus over Serial Line §2.5.1.1); the poller waits it, the line capacity counts it.
    public var interFrameGapMicroseconds: Int {
        baudRate > 19_200 ? 1750 : (35 * Self.bitsPerCharacter * 1_000_000 / 10 + baudRate - 1) / baudRate
    }
}

/// What a gateway speaks on its TCP port.
public enum WireProtocol: String, Sendable, Hashable, CaseIterable {
    /// Modbus TCP (MBAP header), through libmodbus.
    case modbusTCP = "modbus-tcp"
    /// Modbus RTU frames (address, PDU, CRC-16) passed through a serial device server in transparent mode.
    case modbusRTUOverTCP = "modbus-rtu-over-tcp"
    /// DL/T 645-2007 frames passed through a serial device server in transparent mode.
    case dlt645

    /// Whether a serial line lies behind the TCP port: frames carry no transaction id and one line carries one
    /// exchange at a time.
    public var isSerialLine: Bool { self != .modbusTCP }
}

/// A meter of an enterprise, behind a gateway at a unit id.
public struct MeterConfig: Sendable, Hashable {
    /// Identifier, unique across the configuration.
    public var id: String
    /// The gateway it is reached through.
    public var gateway: String
    /// Modbus unit id behind the gateway (0 for a DL/T 645 meter, which is addressed by `meterAddress`).
    public var unitID: Int
    /// A DL/T 645 meter's address: twelve decimal digits as printed on its nameplate.
    public var meterAddress: String?
    /// Current- and voltage-transformer ratios, when the meter reports secondary values (1: it reports primary).
    public var ctRatio: Double
    public var ptRatio: Double
    /// The register map it speaks.
    public var model: String
    /// The energy carrier it measures.
    public var energy: EnergyType
    /// For production counters: the product counted ("clinker").
    public var product: String?
    /// Poll interval, polls aligned to wall-clock multiples of it.
    public var intervalSeconds: Int
    /// Most its consumption counter can advance per hour (rated power or flow); faster deltas are spikes.
    public var maxRatePerHour: Double?
    /// Whether what it meters never stops (a kiln): its counter standing still is frozen even without a power or
    /// flow reading to prove the plant ran.
    public var runsContinuously: Bool

    /// Creates a meter.
    public init(
        id: String, gateway: String, unitID: Int, model: String, energy: EnergyType, product: String? = nil,
        intervalSeconds: Int = 60, maxRatePerHour: Double? = nil, runsContinuously: Bool = false
    ) {
        self.id = id
        self.gateway = gateway
        self.unitID = unitID
        self.model = model
        self.energy = energy
        self.product = product
        self.intervalSeconds = intervalSeconds
        self.maxRatePerHour = maxRatePerHour
        self.runsContinuously = runsContinuously
        self.meterAddress = nil
        self.ctRatio = 1
        self.ptRatio = 1
    }

    /// What a reading of `point` is multiplied by to give the primary value: energy and power by both
    /// transformer ratios, current by the CT's, voltage by the PT's.
    public func primaryFactor(of point: RegisterPoint) -> Double {
        switch point.quantity {
        case .consumption, .export, .total, .power: ctRatio * ptRatio
        case .current: ctRatio
        case .voltage: ptRatio
        case .production, .flow, .pressure, .temperature, .other: 1
        }
    }

    /// Where the counter of `point` wraps, in primary units.
    public func primaryWrap(of point: RegisterPoint) -> Double? { point.effectiveWrap.map { $0 * primaryFactor(of: point) } }

    /// Where the meter sits on its gateway's line, for people: "#3", or a DL/T 645 address.
    public var lineAddress: String { meterAddress ?? "#\(unitID)" }
}

/// A monitored key energy-consuming enterprise.
public struct EnterpriseConfig: Sendable, Hashable {
    /// Identifier (e.g. the unified social credit code or a district number).
    public var id: String
    /// Registered name.
    public var name: String
    /// Town or park (镇/园区) it belongs to.
    public var jurisdiction: String
    /// Industry ("cement", "ceramics", "glass" …).
    public var industry: String
    /// Its meters.
    public var meters: [MeterConfig]
    /// Its products with a quota.
    public var products: [ProductConfig]

    /// Creates an enterprise.
    public init(
        id: String, name: String, jurisdiction: String, industry: String, meters: [MeterConfig], products: [ProductConfig] = []
    ) {
        self.id = id
        self.name = name
        self.jurisdiction = jurisdiction
        self.industry = industry
        self.meters = meters
        self.products = products
    }
}
