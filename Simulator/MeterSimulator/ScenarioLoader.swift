import ConfigurationFiles
import EnergyModel
import Foundation

/// Reads a scenario TOML file. Errors name file, line and key, as energyd's configuration errors do.
///
/// ```toml
/// [scenario]
/// name = "demo-district"
/// config = "../../Config/energyd.toml"   # the energyd configuration whose gateways and meters are simulated
/// origin = "2026-01-01T00:00:00+08:00"   # counters hold their start values at this instant
/// seed = 42
/// [profiles.three_shift]
/// hourly = [0.9, …]                       # 24 factors by local hour
/// weekend = 0.9
/// noise = 0.05
/// [enterprises.E01]
/// profile = "three_shift"
/// unit_consumption = 112.0                # kgce per unit of product
/// [meters.E01-main-power]
/// rate = 7000.0                           # mean per hour, in the consumption counter's unit
/// start = 1234567.0
/// [[faults]]
/// kind = "gateway-down"
/// target = "gw-e02"
/// at = "2026-01-10T08:00:00+08:00"
/// duration_s = 7200
/// ```
public enum ScenarioLoader {
    /// Loads a scenario and the energyd configuration it names.
    public static func load(path: String) throws(ConfigErrors) -> Scenario {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigErrors([ConfigError(file: path, line: 0, key: "-", message: "cannot read: \(error.localizedDescription)")])
        }
        let root: TOMLTable
        do {
            root = try TOMLParser.parse(text)
        } catch {
            throw ConfigErrors([ConfigError(file: path, line: error.line, key: "-", message: "TOML syntax: \(error.message)")])
        }
        let diagnostics = Diagnostics()
        let top = ConfigSection(table: root, keyPath: "", line: 1, file: path, diagnostics: diagnostics)
        guard let header = top.section("scenario", required: true) else { throw ConfigErrors(diagnostics.errors) }
        let name = header.string("name", required: false) ?? (path as NSString).lastPathComponent
        let configPath = header.string("config") ?? ""
        let originText = header.datetime("origin", required: true)
        let seed = header.integer("seed", range: 0...Int.max) ?? 1
        header.finish()

        let resolvedConfig = ConfigPaths.resolve(configPath, besideFile: path)
        let configuration: EnergyConfiguration
        do {
            configuration = try ConfigurationLoader.load(path: resolvedConfig)
        } catch {
            throw ConfigErrors(error.errors + diagnostics.errors)
        }
        let zone = TimeZone(identifier: configuration.daemon.timeZone) ?? TimeZone(identifier: "Asia/Shanghai")!
        let originMs = originText.flatMap { ISO8601Time.parseMs($0, timeZone: zone) }
        if originText != nil, originMs == nil { header.report("origin", "not an ISO 8601 date-time") }

        var profiles: [String: LoadProfile] = ["flat": .flat]
        for (id, s) in top.namedSections("profiles") {
            let hourly = s.numbers("hourly", count: 24) ?? Array(repeating: 1, count: 24)
            let weekend = s.number("weekend") ?? 1
            let noise = s.number("noise") ?? 0
            s.finish()
            if !(0...0.5).contains(noise) { s.report("noise", "expected 0…0.5") }
            if hourly.contains(where: { $0 < 0 }) || !hourly.contains(where: { $0 > 0 }) {
                s.report("hourly", "factors must be ≥ 0 and not all 0")
                continue
            }
            profiles[id] = LoadProfile(name: id, hourly: hourly, weekend: weekend, noise: noise)
        }

        let enterpriseIDs = Set(configuration.enterprises.map(\.id))
        var enterprises: [String: EnterpriseSimulation] = [:]
        for (id, s) in top.namedSections("enterprises") {
            if !enterpriseIDs.contains(id) { s.report("profile", "enterprise \"\(id)\" is not in \(configPath)") }
            let profile = s.string("profile", required: false) ?? "flat"
            if profiles[profile] == nil { s.report("profile", "unknown profile \"\(profile)\"") }
            let unitConsumption = s.number("unit_consumption")
            if let unitConsumption, unitConsumption <= 0 { s.report("unit_consumption", "must be greater than 0") }
            s.finish()
            enterprises[id] = EnterpriseSimulation(profile: profile, unitConsumptionKgce: unitConsumption)
        }

        let metersByID = Dictionary(uniqueKeysWithValues: configuration.meters.map { ($0.meter.id, $0) })
        var meters: [String: MeterSimulation] = [:]
        for (id, s) in top.namedSections("meters") {
            guard let entry = metersByID[id] else {
                s.report("rate", "meter \"\(id)\" is not in \(configPath)")
                s.finish()
                continue
            }
            let profile = s.string("profile", required: false) ?? enterprises[entry.enterprise.id]?.profile ?? "flat"
            if profiles[profile] == nil { s.report("profile", "unknown profile \"\(profile)\"") }
            let rate = s.number("rate") ?? Scenario.defaultRate(for: entry.meter.energy)
            if rate < 0 { s.report("rate", "must not be negative") }
            meters[id] = MeterSimulation(
                rate: rate, start: s.number("start") ?? 0, exportRate: s.number("export_rate") ?? 0, profile: profile)
            s.finish()
        }
        // Meters the scenario does not describe run at a default rate on their enterprise's profile.
        for (enterprise, meter) in configuration.meters where meters[meter.id] == nil {
            meters[meter.id] = MeterSimulation(
                rate: Scenario.defaultRate(for: meter.energy), start: 0, exportRate: 0,
                profile: enterprises[enterprise.id]?.profile ?? "flat")
        }

        let gatewayIDs = Set(configuration.gateways.keys)
        var faults: [FaultSpec] = []
        for s in top.sectionArray("faults") {
            let kind: FaultKind? = s.choice("kind")
            let target = s.string("target")
            let at = s.datetime("at", required: true).flatMap { ISO8601Time.parseMs($0, timeZone: zone) }
            if s.table["at"] != nil, at == nil { s.report("at", "not an ISO 8601 date-time") }
            let duration = s.integer("duration_s", range: 1...Int(Int32.max))
            let parameter = s.number("parameter")
            s.finish()
            // The same ranges as `metersim ctl`: out of them a value is nonsense on the wire or traps a conversion.
            if let kind, let parameter {
                if let allowed = kind.parameterRange {
                    if !allowed.range.contains(parameter) {
                        s.report(
                            "parameter",
                            "\(kind.rawValue) takes \(allowed.meaning), \(allowed.range.lowerBound)…\(allowed.range.upperBound)")
                    }
                } else {
                    s.report("parameter", "\(kind.rawValue) takes no parameter")
                }
            }
            if let target, metersByID[target] == nil, !gatewayIDs.contains(target) {
                s.report("target", "\"\(target)\" is neither a gateway nor a meter of \(configPath)")
            }
            if let kind, kind == .gatewayDown || kind == .dropAfter, let target, !gatewayIDs.contains(target) {
                s.report("target", "\(kind.rawValue) applies to a gateway")
            }
            if let kind, !kind.isWireFault, let target, metersByID[target] == nil {
                s.report("target", "\(kind.rawValue) applies to a meter")
            }
            if kind == .rollover, let target, let entry = metersByID[target],
                configuration.models[entry.meter.model]?.points.first(where: { $0.quantity == .consumption || $0.quantity == .production })?
                    .effectiveWrap == nil
            {
                s.report("target", "meter \"\(target)\" has no counter wrap (a float counter); it cannot roll over")
            }
            if let kind, let target, let at {
                faults.append(
                    FaultSpec(kind: kind, target: target, startMs: at, endMs: duration.map { at + Int64($0) * 1000 }, parameter: parameter))
            }
        }
        top.finish()
        if !diagnostics.errors.isEmpty { throw ConfigErrors(diagnostics.errors) }
        return Scenario(
            name: name, configuration: configuration, originMs: originMs ?? 0, seed: UInt64(seed),
            utcOffsetSeconds: zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(originMs ?? 0) / 1000)),
            profiles: profiles, enterprises: enterprises, meters: meters, faults: faults)
    }
}
