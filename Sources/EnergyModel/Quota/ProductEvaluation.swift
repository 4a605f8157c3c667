/// A product's unit consumption over a period, with everything it was computed from.
public struct ProductEvaluation: Sendable, Hashable {
    /// The enterprise.
    public var enterprise: EnterpriseConfig
    /// The product.
    public var product: ProductConfig
    /// Its quota.
    public var quota: QuotaStandard
    /// The period, [fromMs, toMs).
    public var fromMs: Int64
    public var toMs: Int64
    /// The verdict and its figures.
    public var evaluation: QuotaEvaluation
    /// Energy of each boundary meter in the quota's basis.
    public var energyByMeter: [String: Double]
    /// Factors used, by energy type: kgce per unit and source (the last day's, when one changed).
    public var factors: [String: (kgcePerUnit: Double, source: String)]
    /// Where output came from: the production meter, or "entered".
    public var outputSource: String
    /// Completeness of each boundary meter and of the production counter; the verdict needs every one ≥ 90 %.
    public var completenessByMeter: [String: Double]

    public init(
        enterprise: EnterpriseConfig, product: ProductConfig, quota: QuotaStandard, fromMs: Int64, toMs: Int64,
        evaluation: QuotaEvaluation, energyByMeter: [String: Double], factors: [String: (kgcePerUnit: Double, source: String)],
        outputSource: String, completenessByMeter: [String: Double]
    ) {
        self.enterprise = enterprise
        self.product = product
        self.quota = quota
        self.fromMs = fromMs
        self.toMs = toMs
        self.evaluation = evaluation
        self.energyByMeter = energyByMeter
        self.factors = factors
        self.outputSource = outputSource
        self.completenessByMeter = completenessByMeter
    }

    /// The meters whose completeness keeps the period from a verdict, lowest first.
    public var incompleteMeters: [String] {
        completenessByMeter.filter { $0.value < QuotaEvaluation.minimumCompleteness }.sorted { ($0.value, $0.key) < ($1.value, $1.key) }
            .map(\.key)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.enterprise == rhs.enterprise && lhs.product == rhs.product && lhs.fromMs == rhs.fromMs && lhs.toMs == rhs.toMs
            && lhs.evaluation == rhs.evaluation
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(enterprise.id)
        hasher.combine(product)
        hasher.combine(fromMs)
    }

    /// The inputs, for an alert's evidence.
    public var evidence: [String: EvidenceValue] {
        [
            "basis": .text(quota.basis.name),
            "energy": .number(evaluation.energy),
            "energy_by_meter": .object(energyByMeter.mapValues { .number($0) }),
            "output": .number(evaluation.output),
            "output_source": .text(outputSource),
            "levels": .list(evaluation.levels.map { .number($0) }),
            "correction_factor": .number(product.correctionFactor),
            "factors": .object(factors.mapValues { .object(["kgce_per_unit": .number($0.kgcePerUnit), "source": .text($0.source)]) }),
            "quota_source": .text(quota.source),
            "completeness_by_meter": .object(completenessByMeter.mapValues { .number($0) }),
        ]
    }
}
