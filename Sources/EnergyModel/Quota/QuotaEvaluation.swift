/// The verdict on a product's unit consumption for one period.
public enum QuotaVerdict: Sendable, Hashable, Codable {
    /// Level 1, 2 or 3 is met (1 is the most efficient).
    case level(Int)
    /// Above level 3, the limit.
    case overLimit
    /// Less than 90 % of the expected samples: no figure is presented as fact.
    case insufficientData
    /// No output in the period: unit consumption is undefined.
    case noProduction

    /// Machine name.
    public var name: String {
        switch self {
        case .level(let level): "level-\(level)"
        case .overLimit: "over-limit"
        case .insufficientData: "insufficient-data"
        case .noProduction: "no-production"
        }
    }

    /// The verdict of a machine name; nil for any other text.
    public init?(name: String) {
        switch name {
        case "over-limit": self = .overLimit
        case "insufficient-data": self = .insufficientData
        case "no-production": self = .noProduction
        default:
            guard name.hasPrefix("level-"), let level = Int(name.dropFirst("level-".count)), (1...3).contains(level) else { return nil }
            self = .level(level)
        }
    }

    /// Written and read as its machine name ("level-2"), as reports and the API show it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let verdict = QuotaVerdict(name: name) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "no verdict \(name)")
        }
        self = verdict
    }

    /// Whether the product meets `level` (1 the best) or better.
    public func meets(level benchmark: Int) -> Bool {
        if case .level(let level) = self { level <= benchmark } else { false }
    }

    /// Chinese text for reports and alerts.
    public var chinese: String {
        switch self {
        case .level(let level): "\(["一", "二", "三"][level - 1])级"
        case .overLimit: "超过限定值"
        case .insufficientData: "数据不足"
        case .noProduction: "无产量"
        }
    }
}

/// Unit consumption of one product over one period, judged against its quota.
public struct QuotaEvaluation: Sendable, Hashable {
    /// Energy inside the boundary in the quota's basis (kgce, or the energy type's unit).
    public var energy: Double
    /// Qualified output in the period.
    public var output: Double
    /// The lowest completeness (good ÷ expected samples) among the boundary and production meters.
    public var completeness: Double
    /// Levels after the product's corrections.
    public var levels: [Double]
    /// energy ÷ output, when output is positive.
    public var unitConsumption: Double?
    /// The verdict.
    public var verdict: QuotaVerdict

    /// Least completeness for a verdict; below it the verdict is insufficient data.
    public static let minimumCompleteness = 0.9

    /// Evaluates `energy` ÷ `output` against `quota` corrected by `correctionFactor`.
    public init(energy: Double, output: Double, completeness: Double, quota: QuotaStandard, correctionFactor: Double = 1) {
        self.energy = energy
        self.output = output
        self.completeness = completeness
        self.levels = quota.levels.map { $0 * correctionFactor }
        self.unitConsumption = output > 0 ? energy / output : nil
        if completeness < Self.minimumCompleteness {
            verdict = .insufficientData
        } else if let value = unitConsumption {
            if let level = levels.firstIndex(where: { value <= $0 }) {
                verdict = .level(level + 1)
            } else {
                verdict = .overLimit
            }
        } else {
            verdict = .noProduction
        }
    }
}
