import Accounts
import EnergyModel
import EnergyReports
import EnergyStore
import Foundation

/// The console's figures, each computed by the reports' own code and kept in `figures` until its rollups change.
extension WebConsole {
    /// The district report over the enterprises the account sees.
    func districtReport(_ principal: Principal, _ configuration: EnergyConfiguration, _ period: ReportPeriod) async throws -> DistrictReport
    {
        try await districtReport(scopeKey: principal.scopeKey, scoped: principal.scoped(configuration), of: configuration, period)
    }

    /// The district report over the enterprises of `scoped`, kept under `scopeKey`.
    func districtReport(scopeKey: String, scoped: EnergyConfiguration, of configuration: EnergyConfiguration, _ period: ReportPeriod)
        async throws -> DistrictReport
    {
        let wholeDistrict = scoped.enterprises.count == configuration.enterprises.count
        return try await figures.value("district|\(scopeKey)|\(period.label)", toMs: period.toMs) { [store] in
            var report = try await InspectionReports(store: store, configuration: scoped).district(period: period)
            // A town's account totals its own towns: not "the whole district".
            if !wholeDistrict { report.total.jurisdiction = "合计" }
            return report
        }
    }

    /// One enterprise's report (nil for an enterprise the configuration does not have).
    func enterpriseReport(_ id: String, _ configuration: EnergyConfiguration, _ period: ReportPeriod) async throws -> EnterpriseReport? {
        try await figures.value("enterprise|\(id)|\(period.label)", toMs: period.toMs) { [store] in
            try await InspectionReports(store: store, configuration: configuration).enterprise(id, period: period)
        }
    }

    /// An enterprise's consumption lines and totals by day or month.
    func consumptionReport(
        _ id: String, fromMs: Int64, toMs: Int64, by resolution: Resolution, _ configuration: EnergyConfiguration
    ) async throws -> (lines: [ConsumptionLine], totals: [ConsumptionTotal]) {
        try await figures.value("consumption|\(id)|\(resolution.rawValue)|\(fromMs)|\(toMs)", toMs: toMs) { [store] in
            try await ConsumptionReport(store: store, configuration: configuration).report(
                enterprise: id, fromMs: fromMs, toMs: toMs, by: resolution)
        }
    }

    /// tce by town/park and month over a year, of the enterprises the account sees.
    func townsByMonth(_ principal: Principal, _ configuration: EnergyConfiguration, year: ReportPeriod) async throws -> [String: [Double]] {
        let scoped = principal.scoped(configuration)
        return try await figures.value("towns|\(principal.scopeKey)|\(year.label)", toMs: year.toMs) { [store] in
            var byTown: [String: [Double]] = [:]
            let report = ConsumptionReport(store: store, configuration: configuration)
            for enterprise in scoped.enterprises {
                let (_, totals) = try await report.report(enterprise: enterprise.id, fromMs: year.fromMs, toMs: year.toMs, by: .month)
                var values = byTown[enterprise.jurisdiction] ?? Array(repeating: 0, count: 12)
                for (i, total) in totals.prefix(12).enumerated() { values[i] += total.tce }
                byTown[enterprise.jurisdiction] = values
            }
            return byTown
        }
    }
}

extension Principal {
    /// The scope key of accounts that see every enterprise.
    static let wholeDistrict = "all"

    /// What the account sees, as a cache key: accounts that see the same share figures.
    var scopeKey: String {
        switch role {
        case .inspector, .admin: Self.wholeDistrict
        case .jurisdiction: "towns:" + account.scope.sorted().joined(separator: ",")
        case .enterprise: "enterprise:" + account.scope.joined(separator: ",")
        }
    }
}
