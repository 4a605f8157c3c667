import EnergyModel

/// Renders a configuration as TOML that `ConfigurationLoader` reads back to the same value; used to generate
/// configurations for tests and benchmarks (`metersim generate`).
public enum ConfigurationWriter {
    /// The whole configuration as one TOML file.
    public static func toml(_ configuration: EnergyConfiguration) -> String {
        var out: [String] = []
        let d = configuration.daemon
        out.append("[daemon]")
        out.append("database = \(quoted(d.databasePath))")
        out.append("alert_log = \(quoted(d.alertLogPath))")
        out.append("time_zone = \(quoted(d.timeZone))")
        out.append("raw_retention_days = \(d.rawRetentionDays)")
        out.append("rollup_retention_days = \(d.rollupRetentionDays)")
        if let site = d.siteID { out.append("site_id = \(quoted(site))") }
        if let name = d.siteName { out.append("site_name = \(quoted(name))") }
        if let directory = d.enterpriseDirectory { out.append("enterprise_dir = \(quoted(directory))") }
        out.append("write_batch_max_samples = \(d.writeBatchMaxSamples)")
        out.append("write_buffer_max_samples = \(d.writeBufferMaxSamples)")
        out.append("write_flush_interval_ms = \(d.writeFlushIntervalMs)")
        out.append("accounting_interval_ms = \(d.accountingIntervalMs)")
        out.append("max_start_spread_ms = \(d.maxStartSpreadMs)")
        if let library = d.quotaLibrary { out.append("quota_library = \(quoted(library))") }
        out.append("offline_after_s = \(d.offlineAfterSeconds)")
        out.append("day_close_delay_s = \(d.dayCloseDelaySeconds)")
        out.append("quota_check_interval_s = \(d.quotaCheckIntervalSeconds)")
        out.append("benchmark_level = \(d.benchmarkLevel)")
        out.append("quota_ytd_min_months = \(d.quotaYearToDateMinimumMonths)")
        out.append("allow_no_meters = \(d.allowNoMeters)")
        out.append("reload_max_meter_loss = \(number(d.reloadMaxMeterLoss))")
        out.append("inspection_threshold_tce = \(number(d.inspectionThresholdTce))")
        out.append("http_listen = \(quoted(d.httpListen ?? ""))")
        if let file = d.httpTLSCertificateFile { out.append("http_tls_cert_file = \(quoted(file))") }
        if let file = d.httpTLSKeyFile { out.append("http_tls_key_file = \(quoted(file))") }
        let plan = configuration.plan
        out += [
            "\n[plan]", "name = \(quoted(plan.name))", "first_year = \(plan.firstYear)", "last_year = \(plan.lastYear)",
            "base_year = \(plan.baseYear)", "inspection_coverage = \(number(plan.inspectionCoverage))",
            "monitoring_coverage = \(number(plan.monitoringCoverage))", "benchmark_compliance = \(number(plan.benchmarkCompliance))",
            "product_efficiency_gain = \(number(plan.productEfficiencyGain))",
        ]
        for u in configuration.upstream {
            out.append("\n[[upstream]]")
            out.append("name = \(quoted(u.name))")
            out.append("type = \(quoted(u.kind.rawValue))")
            switch u.kind {
            case .postgres:
                out += [
                    "host = \(quoted(u.host ?? ""))", "port = \(u.port)", "database = \(quoted(u.database ?? ""))",
                    "user = \(quoted(u.user ?? ""))",
                ]
                if let password = u.password { out.append("password = \(quoted(password))") }
                if let role = u.role { out.append("role = \(quoted(role))") }
                out.append("tls = \(quoted(u.tls.rawValue))")
            case .https:
                out += ["url = \(quoted(u.url ?? ""))", "auth = \(quoted(u.auth.rawValue))", "format = \(quoted(u.format.rawValue))"]
                out.append("\(u.auth == .hmac ? "secret" : "token") = \(quoted(u.secret ?? ""))")
            }
            if let file = u.caFile { out.append("ca_file = \(quoted(file))") }
            out += [
                "timeout_s = \(u.timeoutSeconds)", "interval_s = \(u.intervalSeconds)", "retry_first_s = \(u.retryFirstSeconds)",
                "retry_max_s = \(u.retryMaxSeconds)",
            ]
        }
        for model in configuration.models.values.sorted(by: { $0.id < $1.id }) {
            out.append("\n[models.\(key(model.id))]")
            out.append("description = \(quoted(model.description))")
            for point in model.points {
                out.append("[[models.\(key(model.id)).points]]")
                out.append("name = \(quoted(point.name))")
                out.append("quantity = \(quoted(point.quantity.rawValue))")
                out.append("unit = \(quoted(point.unit))")
                if let item = point.dataItem {
                    out.append("data_id = \(quoted(item.text))")
                    out.append("scale = \(number(point.scale))")
                } else {
                    out.append("function = \(point.function.rawValue)")
                    out.append("address = \(point.address)")
                    out.append("type = \(quoted(point.type.rawValue))")
                    out.append("word_order = \(quoted(point.wordOrder.rawValue))")
                    out.append("scale = \(number(point.scale))")
                    out.append("offset = \(number(point.offset))")
                    if let wrap = point.wrap { out.append("wrap = \(number(wrap))") }
                }
                out.append("kind = \(quoted(point.kind.rawValue))")
                if let minimum = point.minimum { out.append("min = \(number(minimum))") }
                if let maximum = point.maximum { out.append("max = \(number(maximum))") }
            }
        }
        for gateway in configuration.gateways.values.sorted(by: { $0.id < $1.id }) {
            out.append("\n[gateways.\(key(gateway.id))]")
            out.append("host = \(quoted(gateway.host))")
            out.append("port = \(gateway.port)")
            if gateway.wire != .modbusTCP {
                out.append("protocol = \(quoted(gateway.wire.rawValue))")
                out.append("baud_rate = \(gateway.baudRate)")
            }
            if gateway.wire == .dlt645 { out.append("wake_up_bytes = \(gateway.wakeUpBytes)") }
            out.append("timeout_ms = \(gateway.timeoutMs)")
            out.append("pause_between_requests_ms = \(gateway.pauseBetweenRequestsMs)")
            out.append("pause_after_connect_ms = \(gateway.pauseAfterConnectMs)")
            out.append("max_registers_per_request = \(gateway.maxRegistersPerRequest)")
            out.append("max_gap_registers = \(gateway.maxGapRegisters)")
            out.append("one_request_per_point = \(gateway.oneRequestPerPoint)")
        }
        for enterprise in configuration.enterprises {
            out.append("\n[enterprises.\(key(enterprise.id))]")
            out.append("name = \(quoted(enterprise.name))")
            out.append("jurisdiction = \(quoted(enterprise.jurisdiction))")
            out.append("industry = \(quoted(enterprise.industry))")
            for meter in enterprise.meters {
                out.append("[[enterprises.\(key(enterprise.id)).meters]]")
                out.append("id = \(quoted(meter.id))")
                out.append("gateway = \(quoted(meter.gateway))")
                if let address = meter.meterAddress {
                    out.append("meter_address = \(quoted(address))")
                } else {
                    out.append("unit_id = \(meter.unitID)")
                }
                if meter.ctRatio != 1 { out.append("ct_ratio = \(number(meter.ctRatio))") }
                if meter.ptRatio != 1 { out.append("pt_ratio = \(number(meter.ptRatio))") }
                out.append("model = \(quoted(meter.model))")
                out.append("energy = \(quoted(meter.energy.rawValue))")
                if let product = meter.product { out.append("product = \(quoted(product))") }
                out.append("interval_s = \(meter.intervalSeconds)")
                if let maxRate = meter.maxRatePerHour { out.append("max_rate = \(number(maxRate))") }
                if meter.runsContinuously { out.append("runs_continuously = true") }
            }
            for product in enterprise.products {
                out.append("[[enterprises.\(key(enterprise.id)).products]]")
                out.append("product = \(quoted(product.product))")
                out.append("quota = \(quoted(product.quota))")
                out.append("boundary = [\(product.boundary.map(quoted).joined(separator: ", "))]")
                if let meter = product.productionMeter { out.append("production_meter = \(quoted(meter))") }
                if !product.corrections.isEmpty {
                    let pairs = product.corrections.sorted { $0.key < $1.key }.map { "\(key($0.key)) = \(number($0.value))" }
                    out.append("corrections = { \(pairs.joined(separator: ", ")) }")
                }
            }
            for factor in configuration.factors.enterprises[enterprise.id] ?? [] {
                out.append("[[enterprises.\(key(enterprise.id)).factors]]")
                out += factorLines(factor)
            }
        }
        for factor in configuration.factors.deployment {
            out.append("\n[[factors]]")
            out += factorLines(factor)
        }
        for quota in configuration.quotas.values.sorted(by: { $0.id < $1.id }) {
            out.append("\n[quotas.\(key(quota.id))]")
            out.append("standard = \(quoted(quota.standard))")
            out.append("title = \(quoted(quota.title))")
            out.append("product = \(quoted(quota.product))")
            out.append("basis = \(quoted(quota.basis.name))")
            out.append("unit = \(quoted(quota.unit))")
            out.append("levels = [\(quota.levels.map(number).joined(separator: ", "))]")
            out.append("corrections = [\(quota.corrections.map(quoted).joined(separator: ", "))]")
            out.append("source = \(quoted(quota.source))")
            out.append("illustrative = \(quota.illustrative)")
        }
        return out.joined(separator: "\n") + "\n"
    }

    private static func factorLines(_ factor: CoalFactor) -> [String] {
        [
            "energy = \(quoted(factor.energy.rawValue))", "kgce_per_unit = \(number(factor.kgcePerUnit))",
            "effective_from = \(factor.effectiveFrom)", "source = \(quoted(factor.source))",
        ]
    }

    /// A TOML basic string.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// A bare key when possible, else a quoted one.
    static func key(_ text: String) -> String {
        let bare =
            !text.isEmpty
            && text.unicodeScalars.allSatisfy {
                $0.properties.isASCIIHexDigit || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || $0 == "_" || $0 == "-"
            }
        return bare ? text : quoted(text)
    }

    /// A float that reads back exactly.
    static func number(_ value: Double) -> String {
        let text = "\(value)"
        return text.contains(".") || text.contains("e") ? text : text + ".0"
    }
}
