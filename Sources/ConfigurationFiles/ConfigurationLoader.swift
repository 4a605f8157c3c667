import EnergyModel
import Foundation
import MeterProtocols

/// Reads and validates the TOML configuration: one main file plus an optional directory of per-enterprise files.
public enum ConfigurationLoader {
    /// Reads `path` and the enterprise directory it names, then parses and validates everything. Paths inside the
    /// file are relative to the file's directory, whatever the working directory.
    public static func load(path: String) throws(ConfigErrors) -> EnergyConfiguration {
        let (configuration, errors) = try loadTolerating(path: path)
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return configuration
    }

    /// Reads as `load` does, but returns what is valid beside the errors (entries with errors left out), for
    /// commands that only read the database; throws only when the files cannot be read at all.
    public static func loadTolerating(path: String) throws(ConfigErrors) -> (EnergyConfiguration, [ConfigError]) {
        let main = try read(path, namedBy: nil)
        let mainRoot: TOMLTable
        do {
            mainRoot = try TOMLParser.parse(main.text)
        } catch {
            return (EnergyConfiguration(), [ConfigError(file: path, line: error.line, key: "-", message: "TOML syntax: \(error.message)")])
        }
        var extra: [ConfigSource] = []
        if let (library, line) = daemonString("quota_library", in: mainRoot) {
            let file = ConfigPaths.resolve(library, besideFile: path)
            extra.append(try read(file, namedBy: ConfigError(file: path, line: line, key: "daemon.quota_library", message: "")))
        }
        if let (directory, line) = daemonString("enterprise_dir", in: mainRoot) {
            let resolved = ConfigPaths.resolve(directory, besideFile: path)
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: resolved)
            } catch {
                // A misspelt directory would silently drop every enterprise in it.
                throw ConfigErrors([
                    ConfigError(
                        file: path, line: line, key: "daemon.enterprise_dir",
                        message: "cannot read directory \(resolved): \(error.localizedDescription)")
                ])
            }
            for name in names.sorted() where name.hasSuffix(".toml") && !name.hasPrefix(".") {
                extra.append(try read(resolved + "/" + name, namedBy: nil))
            }
        }
        return validateTolerating(main: (main, mainRoot), enterpriseFiles: extra)
    }

    /// Largest configuration file read: ten times a city's worth of meters; past it a file is a mistake.
    public static let maximumFileBytes = 64 << 20

    /// Reads one file; a failure names the key that named it, or the file itself.
    private static func read(_ file: String, namedBy reference: ConfigError?) throws(ConfigErrors) -> ConfigSource {
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maximumFileBytes else {
            var failure = reference ?? ConfigError(file: file, line: 0, key: "-", message: "")
            failure.message = "\(file) is \(size) bytes; a configuration file may have at most \(maximumFileBytes)"
            throw ConfigErrors([failure])
        }
        do {
            return ConfigSource(path: file, text: try String(contentsOfFile: file, encoding: .utf8))
        } catch {
            var failure = reference ?? ConfigError(file: file, line: 0, key: "-", message: "")
            failure.message =
                reference == nil ? "cannot read: \(error.localizedDescription)" : "cannot read \(file): \(error.localizedDescription)"
            throw ConfigErrors([failure])
        }
    }

    /// A file or directory named in `[daemon]`, with its line, read before full validation so that it can be loaded.
    private static func daemonString(_ key: String, in root: TOMLTable) -> (String, Int)? {
        guard case .table(let daemon)? = root["daemon"]?.value, let node = daemon[key], case .string(let value) = node.value else {
            return nil
        }
        return (value, node.line)
    }

    /// Parses and validates a main file and per-enterprise files already read.
    public static func parse(main: ConfigSource, enterpriseFiles: [ConfigSource] = []) throws(ConfigErrors) -> EnergyConfiguration {
        let (configuration, errors) = validateTolerating(main: (main, nil), enterpriseFiles: enterpriseFiles)
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return configuration
    }

    /// Validates the main file (parsed already, or not) and the per-enterprise files, each parsed once: the
    /// configuration of what is valid, and the errors.
    private static func validateTolerating(main: (ConfigSource, TOMLTable?), enterpriseFiles: [ConfigSource]) -> (
        EnergyConfiguration, [ConfigError]
    ) {
        let diagnostics = Diagnostics()
        var builder = Builder(diagnostics: diagnostics)
        let sources = [main] + enterpriseFiles.map { ($0, nil) }
        for (index, (source, parsed)) in sources.enumerated() {
            let root: TOMLTable
            if let parsed {
                root = parsed
            } else {
                do {
                    root = try TOMLParser.parse(source.text)
                } catch {
                    diagnostics.report(source.path, error.line, "-", "TOML syntax: \(error.message)")
                    continue
                }
            }
            let section = ConfigSection(table: root, keyPath: "", line: 1, file: source.path, diagnostics: diagnostics)
            builder.read(section, isMain: index == 0)
        }
        return (builder.validated(), diagnostics.errors)
    }
}

/// Paths written inside configuration files.
public enum ConfigPaths {
    /// `relative` as written in `file`: an absolute path as it is, anything else from the file's own directory,
    /// whatever the working directory (`energyd.toml` alone lives in the current directory).
    public static func resolve(_ relative: String, besideFile file: String) -> String {
        if relative.hasPrefix("/") { return relative }
        var directory = (file as NSString).deletingLastPathComponent
        if directory.isEmpty { directory = "." }
        if !directory.hasPrefix("/") { directory = FileManager.default.currentDirectoryPath + "/" + directory }
        return ((directory + "/" + relative) as NSString).standardizingPath
    }
}

/// Where an entity was defined, for cross-reference errors.
private struct Origin {
    var file: String
    var line: Int
    var key: String
}

/// Accumulates entities from every file, then checks the references between them.
private struct Builder {
    let diagnostics: Diagnostics
    var daemon = DaemonSettings()
    var models: [String: MeterModel] = [:]
    var modelOrigins: [String: Origin] = [:]
    var gateways: [String: GatewayConfig] = [:]
    var gatewayOrigins: [String: Origin] = [:]
    var enterprises: [EnterpriseConfig] = []
    var enterpriseOrigins: [String: Origin] = [:]
    var meterOrigins: [String: Origin] = [:]
    /// Every meter's gateway and model references, checked even when the meter has other errors.
    var meterReferences: [(key: String, value: String, origin: Origin)] = []
    var quotas: [String: QuotaStandard] = [:]
    var quotaOrigins: [String: Origin] = [:]
    var productOrigins: [String: [Origin]] = [:]
    /// Factors with their dates as written, resolved to instants once the time zone is known.
    var factorEntries: [(enterprise: String?, energy: EnergyType, kgce: Double, from: String, source: String, origin: Origin)] = []
    /// Models with an invalid point: their accounting checks would only repeat those errors.
    var incompleteModels: Set<String> = []
    var delivery: DeliveryReader
    var upstream: [UpstreamConfig] = []
    var upstreamOrigin: (file: String, line: Int)?
    var plan = PlanSettings()

    init(diagnostics: Diagnostics) {
        self.diagnostics = diagnostics
        delivery = DeliveryReader(diagnostics: diagnostics)
    }

    mutating func read(_ root: ConfigSection, isMain: Bool) {
        if isMain {
            if let section = root.section("daemon") { daemon = readDaemon(section) }
            delivery.read(root)
            upstream = UpstreamReader.read(root)
            if let node = root.table["upstream"] { upstreamOrigin = (root.file, node.line) }
            if let section = root.section("plan") { plan = Self.readPlan(section) }
        } else {
            for key in ["daemon", "delivery", "channels", "routes", "upstream", "plan"] where root.node(key) != nil {
                root.report(key, "[\(key)] belongs in the main configuration file only")
            }
        }
        for (name, section) in root.namedSections("models") { readModel(name, section) }
        for (name, section) in root.namedSections("gateways") { readGateway(name, section) }
        for (name, section) in root.namedSections("enterprises") { readEnterprise(name, section) }
        for section in root.sectionArray("factors") { readFactor(section, enterprise: nil) }
        for (name, section) in root.namedSections("quotas") { readQuota(name, section) }
        root.finish()
    }

    /// `[plan]`: the plan's years, base year and targets (rates from 0 to 1).
    private static func readPlan(_ s: ConfigSection) -> PlanSettings {
        var plan = PlanSettings()
        if let v = s.string("name", required: false) { plan.name = v }
        if let v = s.integer("first_year", range: 2000...2100) { plan.firstYear = v }
        if let v = s.integer("last_year", range: 2000...2100) { plan.lastYear = v }
        if let v = s.integer("base_year", range: 2000...2100) { plan.baseYear = v }
        if plan.lastYear < plan.firstYear { s.report("last_year", "\(plan.lastYear) is before first_year \(plan.firstYear)") }
        if plan.baseYear >= plan.firstYear { s.report("base_year", "\(plan.baseYear) must be before first_year \(plan.firstYear)") }
        let rates: [(String, WritableKeyPath<PlanSettings, Double>)] = [
            ("inspection_coverage", \.inspectionCoverage), ("monitoring_coverage", \.monitoringCoverage),
            ("benchmark_compliance", \.benchmarkCompliance), ("product_efficiency_gain", \.productEfficiencyGain),
        ]
        for (key, path) in rates {
            guard let v = s.number(key) else { continue }
            if (0...1).contains(v) { plan[keyPath: path] = v } else { s.report(key, "must be a fraction from 0 to 1 (0.7 is 70 %)") }
        }
        s.finish()
        return plan
    }

    private func readDaemon(_ s: ConfigSection) -> DaemonSettings {
        var d = DaemonSettings()
        if let v = s.string("database", required: false) { d.databasePath = ConfigPaths.resolve(v, besideFile: s.file) }
        if let v = s.string("alert_log", required: false) { d.alertLogPath = ConfigPaths.resolve(v, besideFile: s.file) }
        if let v = s.string("time_zone", required: false) {
            if TimeZone(identifier: v) == nil {
                s.report("time_zone", "\"\(v)\" is not a known time zone (e.g. \"Asia/Shanghai\")")
            } else {
                d.timeZone = v
            }
        }
        if let v = s.integer("raw_retention_days", range: 1...3650) { d.rawRetentionDays = v }
        if let v = s.integer("rollup_retention_days", range: 184...36_500) { d.rollupRetentionDays = v }
        if let v = s.string("site_id", required: false) {
            if v.isEmpty || v.count > 64 || v.contains(where: { !($0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0))) }) {
                s.report("site_id", "\"\(v)\" must be 1 to 64 ASCII letters, digits, -, _ or .")
            } else {
                d.siteID = v
            }
        }
        if let v = s.string("site_name", required: false) { d.siteName = v }
        if let v = s.string("enterprise_dir", required: false) { d.enterpriseDirectory = v }
        if let v = s.integer("write_batch_max_samples", range: 1...1_000_000) { d.writeBatchMaxSamples = v }
        if let v = s.integer("write_buffer_max_samples", range: 1000...100_000_000) { d.writeBufferMaxSamples = v }
        if let v = s.integer("write_flush_interval_ms", range: 10...60_000) { d.writeFlushIntervalMs = v }
        if let v = s.integer("accounting_interval_ms", range: 10...3_600_000) { d.accountingIntervalMs = v }
        if let v = s.integer("max_start_spread_ms", range: 0...3_600_000) { d.maxStartSpreadMs = v }
        if let v = s.string("quota_library", required: false) { d.quotaLibrary = v }
        if let v = s.integer("offline_after_s", range: 60...604_800) { d.offlineAfterSeconds = v }
        if let v = s.integer("day_close_delay_s", range: 0...86_400) { d.dayCloseDelaySeconds = v }
        if let v = s.integer("quota_check_interval_s", range: 0...31_536_000) { d.quotaCheckIntervalSeconds = v }
        if let v = s.integer("benchmark_level", range: 1...3) { d.benchmarkLevel = v }
        if let v = s.integer("quota_ytd_min_months", range: 1...12) { d.quotaYearToDateMinimumMonths = v }
        if let v = s.boolean("allow_no_meters") { d.allowNoMeters = v }
        if let v = s.number("reload_max_meter_loss") {
            if (0...1).contains(v) { d.reloadMaxMeterLoss = v } else { s.report("reload_max_meter_loss", "must be a share from 0 to 1") }
        }
        if let v = s.string("http_listen", required: false) {
            if v.isEmpty {
                d.httpListen = nil
            } else {
                d.httpListen = v
                if d.httpEndpoint.map({ !(0...65535).contains($0.port) || $0.host.isEmpty }) ?? true {
                    s.report("http_listen", "\"\(v)\" is not HOST:PORT (\"127.0.0.1:9464\"; \"\" serves nothing)")
                }
            }
        }
        if let certificate = s.string("http_tls_cert_file", required: false) {
            d.httpTLSCertificateFile = ConfigPaths.resolve(certificate, besideFile: s.file)
            if !FileManager.default.isReadableFile(atPath: d.httpTLSCertificateFile!) {
                s.report("http_tls_cert_file", "cannot read \(d.httpTLSCertificateFile!)")
            }
        }
        if let key = s.string("http_tls_key_file", required: false) {
            let path = ConfigPaths.resolve(key, besideFile: s.file)
            d.httpTLSKeyFile = path
            if let attributes = try? FileManager.default.attributesOfItem(atPath: path), FileManager.default.isReadableFile(atPath: path) {
                if let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o004 != 0 {
                    s.report("http_tls_key_file", "\(path) is readable by every user; a private key's file must not be (chmod 600 or 640)")
                }
            } else {
                s.report("http_tls_key_file", "cannot read \(path)")
            }
        }
        if (d.httpTLSCertificateFile == nil) != (d.httpTLSKeyFile == nil) {
            s.report(
                d.httpTLSCertificateFile == nil ? "http_tls_cert_file" : "http_tls_key_file",
                "HTTPS needs both http_tls_cert_file and http_tls_key_file")
        }
        if let v = s.number("inspection_threshold_tce") {
            if v > 0 { d.inspectionThresholdTce = v } else { s.report("inspection_threshold_tce", "must be greater than 0") }
        }
        s.finish()
        return d
    }

    private func duplicate(_ s: ConfigSection, _ what: String, first: Origin) {
        diagnostics.report(s.file, s.line, s.keyPath, "\(what) is defined again (first at \(first.file):\(first.line))")
    }

    // MARK: Models

    private mutating func readModel(_ id: String, _ s: ConfigSection) {
        if let first = modelOrigins[id] { return duplicate(s, "model \"\(id)\"", first: first) }
        modelOrigins[id] = Origin(file: s.file, line: s.line, key: s.keyPath)
        let description = s.string("description", required: false) ?? id
        let pointSections = s.sectionArray("points", required: true)
        var points: [RegisterPoint] = []
        var ranges: [(name: String, function: RegisterFunction, range: Range<Int>, section: ConfigSection)] = []
        for p in pointSections {
            guard let point = readPoint(p) else { continue }
            if points.contains(where: { $0.name == point.name }) {
                p.report("name", "point \"\(point.name)\" appears twice in model \"\(id)\"")
                continue
            }
            if let item = point.dataItem {
                if let other = points.first(where: { $0.dataItem?.identifier == item.identifier }) {
                    p.report("data_id", "data item \(item.text) is already read by point \"\(other.name)\"")
                }
                points.append(point)
                continue
            }
            let range = point.address..<(point.address + point.registerCount)
            if let clash = ranges.first(where: { $0.function == point.function && $0.range.overlaps(range) }) {
                p.report(
                    "address",
                    "registers \(range.lowerBound)…\(range.upperBound - 1) overlap point \"\(clash.name)\" (\(clash.range.lowerBound)…\(clash.range.upperBound - 1)) of the same function"
                )
            }
            ranges.append((point.name, point.function, range, p))
            points.append(point)
        }
        if pointSections.isEmpty, s.table["points"] != nil { s.report("points", "a model needs at least one point") }
        if points.contains(where: { $0.dataItem != nil }), points.contains(where: { $0.dataItem == nil }) {
            s.report("points", "a model reads either DL/T 645 data items (data_id) or Modbus registers (address), not both")
        }
        if points.count < pointSections.count { incompleteModels.insert(id) }
        s.finish()
        models[id] = MeterModel(id: id, description: description, points: points)
    }

    private func readPoint(_ s: ConfigSection) -> RegisterPoint? {
        if s.table["data_id"] != nil { return readDataItemPoint(s) }
        let name = s.string("name")
        let quantity: PointQuantity? = s.choice("quantity")
        let unit = s.string("unit")
        let function: RegisterFunction? = s.choice(integer: "function")
        let address = s.integer("address", range: 0...65535, required: true)
        let type: RegisterType? = s.choice("type")
        let wordOrder: WordOrder = s.choice("word_order", required: false) ?? .abcd
        let scale = s.number("scale") ?? 1
        let offset = s.number("offset") ?? 0
        let kind: PointKind? = {
            guard let text = s.string("kind") else { return nil }
            guard let kind = PointKind(rawValue: text) else {
                s.report("kind", "\"\(text)\" is not one of \"counter\", \"gauge\"")
                return nil
            }
            return kind
        }()
        let wrap = s.number("wrap")
        let minimum = s.number("min")
        let maximum = s.number("max")
        s.finish()
        if scale == 0 { s.report("scale", "must not be 0") }
        if let wrap, wrap <= 0 { s.report("wrap", "must be greater than 0") }
        if wrap != nil, kind == .gauge { s.report("wrap", "only counters wrap; this point is a gauge") }
        if let minimum, let maximum, minimum >= maximum { s.report("max", "must be greater than min (\(minimum))") }
        if let address, let type, address + type.registerCount - 1 > 65535 {
            s.report("address", "\(type.rawValue) at \(address) runs past register 65535")
            return nil
        }
        guard let name, let quantity, let unit, let function, let address, let type, let kind, scale != 0 else { return nil }
        return RegisterPoint(
            name: name, quantity: quantity, unit: unit, function: function, address: address, type: type,
            wordOrder: wordOrder, scale: scale, offset: offset, kind: kind, wrap: wrap, minimum: minimum, maximum: maximum)
    }

    /// A point of a DL/T 645 meter: its data item says where it is, how it is written and its unit.
    private func readDataItemPoint(_ s: ConfigSection) -> RegisterPoint? {
        let name = s.string("name")
        let quantity: PointQuantity? = s.choice("quantity")
        let text = s.string("data_id")
        let unit = s.string("unit", required: false)
        let scale = s.number("scale") ?? 1
        let kind: PointKind? = s.choice("kind")
        let minimum = s.number("min")
        let maximum = s.number("max")
        s.finish()
        var item: DLT645DataItem?
        if let text {
            if let identifier = DLT645DataItem.identifier(text) {
                item = DLT645DataItem(identifier: identifier)
                if item == nil {
                    s.report(
                        "data_id",
                        "\(text) is not a data item energyd reads (energy 000x0000 and per tariff 000x0100…, power 0203xx00, "
                            + "power factor 0206xx00, voltage 0201xx00, current 0202xx00)")
                }
            } else {
                s.report("data_id", "\"\(text)\" is not a data identifier; expected eight hexadecimal digits, DI3 first (\"00010000\")")
            }
        }
        if let item, let unit, unit != item.unit {
            s.report("unit", "data item \(item.text) is written in \(item.unit.isEmpty ? "no unit" : item.unit), not \(unit)")
        }
        if scale == 0 { s.report("scale", "must not be 0") }
        if let minimum, let maximum, minimum >= maximum { s.report("max", "must be greater than min (\(minimum))") }
        guard let name, let quantity, let item, let kind, scale != 0, unit == nil || unit == item.unit else { return nil }
        return RegisterPoint(name: name, quantity: quantity, dataItem: item, scale: scale, kind: kind, minimum: minimum, maximum: maximum)
    }

    // MARK: Gateways

    private mutating func readGateway(_ id: String, _ s: ConfigSection) {
        if let first = gatewayOrigins[id] { return duplicate(s, "gateway \"\(id)\"", first: first) }
        gatewayOrigins[id] = Origin(file: s.file, line: s.line, key: s.keyPath)
        let host = s.string("host")
        var gateway = GatewayConfig(id: id, host: host ?? "")
        if let v = s.integer("port", range: 1...65535) { gateway.port = v }
        if let v: WireProtocol = s.choice("protocol", required: false) { gateway.wire = v }
        if let v = s.integer("baud_rate", range: 300...921_600) { gateway.baudRate = v }
        if let v = s.integer("wake_up_bytes", range: 0...4) { gateway.wakeUpBytes = v }
        if let v = s.integer("timeout_ms", range: 10...60_000) { gateway.timeoutMs = v }
        if let v = s.integer("pause_between_requests_ms", range: 0...60_000) { gateway.pauseBetweenRequestsMs = v }
        if let v = s.integer("pause_after_connect_ms", range: 0...60_000) { gateway.pauseAfterConnectMs = v }
        if let v = s.integer("max_registers_per_request", range: 1...125) { gateway.maxRegistersPerRequest = v }
        if let v = s.integer("max_gap_registers", range: 0...124) { gateway.maxGapRegisters = v }
        if let v = s.boolean("one_request_per_point") { gateway.oneRequestPerPoint = v }
        s.finish()
        if host != nil { gateways[id] = gateway }
    }

    // MARK: Enterprises

    /// Why an enterprise's or meter's id cannot be used, or nil: ids are path segments of the console's addresses
    /// (/enterprises/ID, /meters/ID), so they hold no slash, backslash, `?`, `#`, `%`, space or control character.
    static func idProblem(_ id: String) -> String? {
        if id.isEmpty || id.count > 128 { return "must have 1 to 128 characters" }
        if id == "." || id == ".." { return "cannot be \".\" or \"..\"" }
        if let bad = id.unicodeScalars.first(where: { $0.value <= 0x20 || $0.value == 0x7F || "/\\?#%".unicodeScalars.contains($0) }) {
            return
                "must not contain \(bad.value <= 0x20 || bad.value == 0x7F ? "spaces or control characters" : "'\(bad)'") (it is part of console addresses)"
        }
        return nil
    }

    private mutating func readEnterprise(_ id: String, _ s: ConfigSection) {
        if let first = enterpriseOrigins[id] { return duplicate(s, "enterprise \"\(id)\"", first: first) }
        enterpriseOrigins[id] = Origin(file: s.file, line: s.line, key: s.keyPath)
        if let problem = Self.idProblem(id) { s.diagnostics.report(s.file, s.line, s.keyPath, "enterprise \"\(id)\" \(problem)") }
        let name = s.string("name")
        let jurisdiction = s.string("jurisdiction")
        let industry = s.string("industry")
        var meters: [MeterConfig] = []
        for m in s.sectionArray("meters") {
            if let meter = readMeter(m) { meters.append(meter) }
        }
        for f in s.sectionArray("factors") { readFactor(f, enterprise: id) }
        var products: [ProductConfig] = []
        for p in s.sectionArray("products") {
            if let product = readProduct(p) {
                products.append(product)
                productOrigins[id, default: []].append(Origin(file: p.file, line: p.line, key: p.keyPath))
            }
        }
        s.finish()
        guard let name, let jurisdiction, let industry else { return }
        enterprises.append(
            EnterpriseConfig(id: id, name: name, jurisdiction: jurisdiction, industry: industry, meters: meters, products: products))
    }

    private mutating func readMeter(_ s: ConfigSection) -> MeterConfig? {
        let id = s.string("id")
        let gateway = s.string("gateway")
        let unitID = s.integer("unit_id", range: 0...255)
        let meterAddress = s.string("meter_address", required: false)
        let ctRatio = s.number("ct_ratio") ?? 1
        let ptRatio = s.number("pt_ratio") ?? 1
        let model = s.string("model")
        let energy: EnergyType? = s.choice("energy")
        let product = s.string("product", required: false)
        let interval = s.integer("interval_s", range: 1...86_400) ?? 60
        let maxRate = s.number("max_rate")
        let runsContinuously = s.boolean("runs_continuously") ?? false
        s.finish()
        if let maxRate, maxRate <= 0 { s.report("max_rate", "must be greater than 0") }
        if let unitID, !(1...247).contains(unitID), unitID != 255 {
            s.report("unit_id", "\(unitID) is not a unit id; expected 1…247, or 255 for a device addressed directly")
        }
        switch (unitID, meterAddress) {
        case (nil, nil): s.report("unit_id", "missing; a Modbus meter needs its unit_id, a DL/T 645 meter its meter_address")
        case (.some, .some): s.report("meter_address", "a meter has a unit_id (Modbus) or a meter_address (DL/T 645), not both")
        default: break
        }
        if let meterAddress, DLT645.addressBytes(meterAddress) == nil {
            s.report("meter_address", "\"\(meterAddress)\" is not a DL/T 645 address; expected twelve decimal digits")
        }
        for (key, ratio) in [("ct_ratio", ctRatio), ("pt_ratio", ptRatio)] where ratio <= 0 { s.report(key, "must be greater than 0") }
        if energy == .production, product == nil { s.report("product", "a production counter must name its product") }
        if let id, let problem = Self.idProblem(id) { s.report("id", "meter \"\(id)\" \(problem)") }
        if let id {
            if let first = meterOrigins[id] {
                s.report("id", "meter \"\(id)\" is defined again (first at \(first.file):\(first.line))")
                return nil
            }
            meterOrigins[id] = Origin(file: s.file, line: s.table["id"]?.line ?? s.line, key: s.keyPath)
        }
        for (key, value) in [("gateway", gateway), ("model", model)] {
            // Kept for the check at the end only when not known yet (defined in a file read later): 50 000 meters'
            // references would otherwise hold 20 MiB while loading.
            if let value, !isDefined(key, value) {
                meterReferences.append((key, value, Origin(file: s.file, line: s.table[key]?.line ?? s.line, key: s.path(key))))
            }
        }
        guard let id, let gateway, unitID != nil || meterAddress != nil, let model, let energy else { return nil }
        var meter = MeterConfig(
            id: id, gateway: gateway, unitID: unitID ?? 0, model: model, energy: energy, product: product,
            intervalSeconds: interval, maxRatePerHour: maxRate, runsContinuously: runsContinuously)
        meter.meterAddress = meterAddress
        meter.ctRatio = ctRatio
        meter.ptRatio = ptRatio
        return meter
    }

    private func readProduct(_ s: ConfigSection) -> ProductConfig? {
        let product = s.string("product")
        let quota = s.string("quota")
        var boundary: [String] = []
        if let node = s.node("boundary") {
            if case .array(let items) = node.value, !items.isEmpty,
                case let names = items.compactMap({ item -> String? in if case .string(let text) = item.value { text } else { nil } }),
                names.count == items.count
            {
                boundary = names
            } else {
                s.report("boundary", "expected a non-empty array of meter ids")
            }
        } else {
            s.report("boundary", "missing; this key is required")
        }
        let productionMeter = s.string("production_meter", required: false)
        var corrections: [String: Double] = [:]
        if let table = s.section("corrections") {
            for key in table.table.keys {
                if let value = table.number(key) {
                    if value > 0 { corrections[key] = value } else { table.report(key, "a correction factor must be greater than 0") }
                }
            }
            table.finish()
        }
        s.finish()
        guard let product, let quota, !boundary.isEmpty else { return nil }
        return ProductConfig(product: product, quota: quota, boundary: boundary, productionMeter: productionMeter, corrections: corrections)
    }

    private mutating func readQuota(_ id: String, _ s: ConfigSection) {
        if let first = quotaOrigins[id] { return duplicate(s, "quota \"\(id)\"", first: first) }
        quotaOrigins[id] = Origin(file: s.file, line: s.line, key: s.keyPath)
        let standard = s.string("standard")
        let title = s.string("title")
        let product = s.string("product")
        let unit = s.string("unit")
        let basisName = s.string("basis", required: false) ?? "comprehensive"
        let levels = s.numbers("levels", count: 3)
        if levels == nil, s.table["levels"] == nil { s.report("levels", "missing; this key is required") }
        var corrections: [String] = []
        if let node = s.node("corrections") {
            if case .array(let items) = node.value {
                corrections = items.compactMap { if case .string(let text) = $0.value { text } else { nil } }
                if corrections.count != items.count { s.report("corrections", "expected an array of names") }
            } else {
                s.report("corrections", "expected an array of names")
            }
        }
        let source = s.string("source")
        let illustrative = s.boolean("illustrative") ?? false
        s.finish()
        let basis: QuotaBasis?
        if basisName == "comprehensive" {
            basis = .comprehensive
        } else if let energy = EnergyType(rawValue: basisName), energy != .production {
            basis = .energy(energy)
        } else {
            s.report("basis", "\"\(basisName)\" is neither \"comprehensive\" nor an energy type")
            basis = nil
        }
        if let levels, zip(levels, levels.dropFirst()).contains(where: { $0 > $1 }) || levels.contains(where: { $0 <= 0 }) {
            s.report("levels", "levels 1, 2 and 3 must be positive and not decreasing")
            return
        }
        guard let standard, let title, let product, let unit, let levels, let basis, let source else { return }
        quotas[id] = QuotaStandard(
            id: id, standard: standard, title: title, product: product, basis: basis, unit: unit, levels: levels,
            corrections: corrections, source: source, illustrative: illustrative)
    }

    private mutating func readFactor(_ s: ConfigSection, enterprise: String?) {
        let energy: EnergyType? = s.choice("energy")
        let kgce = s.number("kgce_per_unit", required: true)
        let from = s.datetime("effective_from", required: true)
        let source = s.string("source")
        s.finish()
        if energy == .production { s.report("energy", "production has no standard-coal factor") }
        if let kgce, kgce <= 0 { s.report("kgce_per_unit", "must be greater than 0") }
        if let from, from.count != 10 || ISO8601Time.parseMs(from) == nil {
            s.report("effective_from", "\"\(from)\" is not a date (YYYY-MM-DD)")
            return
        }
        guard let energy, energy != .production, let kgce, kgce > 0, let from, let source else { return }
        factorEntries.append((enterprise, energy, kgce, from, source, Origin(file: s.file, line: s.line, key: s.keyPath)))
    }

    /// Factors with their first day resolved in the configured time zone.
    private func factorTable() -> CoalFactorTable {
        let zone = TimeZone(identifier: daemon.timeZone) ?? TimeZone(identifier: "Asia/Shanghai")!
        var table = CoalFactorTable()
        var seen: [String: Origin] = [:]
        for entry in factorEntries {
            let key = "\(entry.enterprise ?? "*")/\(entry.energy.rawValue)/\(entry.from)"
            if let first = seen[key] {
                diagnostics.report(
                    entry.origin.file, entry.origin.line, entry.origin.key,
                    "a \(entry.energy.rawValue) factor from \(entry.from) is defined again (first at \(first.file):\(first.line))")
                continue
            }
            seen[key] = entry.origin
            let factor = CoalFactor(
                energy: entry.energy, kgcePerUnit: entry.kgce, effectiveFrom: entry.from,
                effectiveFromMs: ISO8601Time.parseMs(entry.from, timeZone: zone)!, source: entry.source)
            if let enterprise = entry.enterprise {
                table.enterprises[enterprise, default: []].append(factor)
            } else {
                table.deployment.append(factor)
            }
        }
        return table
    }

    // MARK: Cross-references

    /// A product's quota, boundary and production meter must exist, belong to its enterprise and fit together.
    private func checkProduct(_ product: ProductConfig, meters: [String: MeterConfig], at origin: Origin) {
        func report(_ key: String, _ message: String) { diagnostics.report(origin.file, origin.line, "\(origin.key).\(key)", message) }
        if let quota = quotas[product.quota] {
            if quota.product != product.product {
                report("quota", "quota \"\(quota.id)\" is for \(quota.product), not \(product.product)")
            }
            for name in product.corrections.keys where !quota.corrections.contains(name) {
                report(
                    "corrections",
                    "quota \"\(quota.id)\" allows no \"\(name)\" correction (allowed: \(quota.corrections.joined(separator: ", ")))")
            }
        } else if quotaOrigins[product.quota] == nil {
            report("quota", "unknown quota \"\(product.quota)\" (is daemon.quota_library set?)")
        }
        for id in product.boundary {
            guard let meter = meters[id] else {
                report("boundary", "\"\(id)\" is not a meter of this enterprise")
                continue
            }
            if meter.energy == .production { report("boundary", "\"\(id)\" is a production counter, not an energy meter") }
        }
        if let id = product.productionMeter {
            if let meter = meters[id] {
                if meter.energy != .production || meter.product != product.product {
                    report("production_meter", "\"\(id)\" does not count \(product.product)")
                }
            } else {
                report("production_meter", "\"\(id)\" is not a meter of this enterprise")
            }
        }
    }

    /// A meter's model must have the counter its energy type is accounted from, in a unit that converts.
    private func checkAccounting(_ meter: MeterConfig, _ model: MeterModel, _ origin: Origin) {
        let wanted: PointQuantity = meter.energy == .production ? .production : .consumption
        if !model.points.contains(where: { $0.kind == .counter && $0.quantity == wanted }) {
            diagnostics.report(
                origin.file, origin.line, "\(origin.key).model",
                "model \"\(model.id)\" has no \(wanted.rawValue) counter; a meter of energy \"\(meter.energy.rawValue)\" is accounted from one"
            )
        }
        for point in model.points where point.kind == .counter && [.consumption, .export, .total].contains(point.quantity) {
            if UnitConversion.factor(from: point.unit, to: meter.energy) == nil {
                diagnostics.report(
                    origin.file, origin.line, "\(origin.key).energy",
                    "point \"\(point.name)\" of model \"\(model.id)\" counts \(point.unit), which cannot be accounted as \(meter.energy.rawValue) (\(meter.energy.accountingUnit))"
                )
            }
        }
    }

    /// Whether the gateway or model (`key`) a meter names has been read.
    func isDefined(_ key: String, _ id: String) -> Bool { (key == "gateway" ? gatewayOrigins : modelOrigins)[id] != nil }

    /// Whether a meter is addressed and mapped the way its gateway speaks: DL/T 645 meters by address and data
    /// items, Modbus meters by unit id and registers.
    private func checkLine(_ meter: MeterConfig, _ origin: Origin) {
        guard let gateway = gateways[meter.gateway] else { return }
        let isDLT645 = gateway.wire == .dlt645
        if isDLT645, meter.meterAddress == nil {
            diagnostics.report(
                origin.file, origin.line, "\(origin.key).meter_address",
                "gateway \"\(gateway.id)\" speaks dlt645: its meters need a twelve-digit meter_address, not a unit_id")
        } else if !isDLT645, meter.meterAddress != nil {
            diagnostics.report(
                origin.file, origin.line, "\(origin.key).meter_address",
                "gateway \"\(gateway.id)\" speaks \(gateway.wire.rawValue): its meters need a unit_id; meter_address is for dlt645")
        }
        if let model = models[meter.model], let first = model.points.first, (first.dataItem != nil) != isDLT645 {
            diagnostics.report(
                origin.file, origin.line, "\(origin.key).model",
                "model \"\(model.id)\" is read by \(isDLT645 ? "Modbus registers" : "DL/T 645 data items"), "
                    + "but gateway \"\(gateway.id)\" speaks \(gateway.wire.rawValue)")
        }
    }

    func validated() -> EnergyConfiguration {
        for (key, value, origin) in meterReferences where !isDefined(key, value) {
            diagnostics.report(origin.file, origin.line, origin.key, "unknown \(key) \"\(value)\"")
        }
        var unitOwners: [String: [String: String]] = [:]
        for enterprise in enterprises {
            for meter in enterprise.meters {
                let origin = meterOrigins[meter.id]!
                if let model = models[meter.model], !incompleteModels.contains(meter.model) {
                    checkAccounting(meter, model, origin)
                }
                checkLine(meter, origin)
                if let other = unitOwners[meter.gateway]?[meter.lineAddress] {
                    let what = meter.meterAddress == nil ? "unit id \(meter.unitID)" : "meter address \(meter.lineAddress)"
                    diagnostics.report(
                        origin.file, origin.line, "\(origin.key).\(meter.meterAddress == nil ? "unit_id" : "meter_address")",
                        "\(what) on gateway \"\(meter.gateway)\" is already used by meter \"\(other)\"")
                } else {
                    unitOwners[meter.gateway, default: [:]][meter.lineAddress] = meter.id
                }
            }
        }
        for enterprise in enterprises {
            let meters = Dictionary(uniqueKeysWithValues: enterprise.meters.map { ($0.id, $0) })
            for (product, origin) in zip(enterprise.products, productOrigins[enterprise.id] ?? []) {
                checkProduct(product, meters: meters, at: origin)
            }
        }
        var endpoints: [String: String] = [:]
        for (id, gateway) in gateways.sorted(by: { $0.key < $1.key }) {
            let endpoint = "\(gateway.host):\(gateway.port)"
            if let other = endpoints[endpoint] {
                let origin = gatewayOrigins[id]!
                diagnostics.report(
                    origin.file, origin.line, origin.key,
                    "\(endpoint) is also gateway \"\(other)\"; one connection per gateway means one entry per address")
            } else {
                endpoints[endpoint] = id
            }
        }
        delivery.check(enterprises: enterprises)
        if let origin = upstreamOrigin, !upstream.isEmpty, daemon.siteID == nil {
            diagnostics.report(origin.file, origin.line, "daemon.site_id", "[[upstream]] needs the site's id in [daemon] site_id")
        }
        return EnergyConfiguration(
            daemon: daemon, models: models, gateways: gateways, enterprises: enterprises, factors: factorTable(), quotas: quotas,
            delivery: delivery.settings, upstream: upstream, plan: plan)
    }
}
