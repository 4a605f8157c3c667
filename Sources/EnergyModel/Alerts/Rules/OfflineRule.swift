/// A meter with no good reading for `offline_after_s` is offline (警告), but while its whole gateway is silent one
/// gateway alert (严重) stands for all its meters. Findings are made only where they change an open alert or raise
/// one: at ten thousand meters the unchanged ones cost more than the check.
public struct OfflineRule: Sendable {
    public var offlineAfterMs: Int64
    /// When monitoring began (energyd's start): a meter that never answered is offline only after this.
    public var startedMs: Int64
    public var calendar: CalendarBuckets

    public init(offlineAfterMs: Int64, startedMs: Int64, calendar: CalendarBuckets) {
        self.offlineAfterMs = offlineAfterMs
        self.startedMs = startedMs
        self.calendar = calendar
    }

    /// `lastGood` lists each accounted series' meter and its last good reading (nil when it never had one).
    public func findings(
        enterprises: [EnterpriseConfig], lastGood series: [(meter: String, lastGoodMs: Int64?)], nowMs: Int64, open: Set<String>
    ) -> [AlertFinding] {
        var lastGood: [String: Int64] = [:]
        /// Meters that ever gave a good reading, and when last: only they can count as answering.
        var lastRead: [String: Int64] = [:]
        // A meter is as recent as its most recent series: one silent counter does not make an answering meter offline.
        for (meter, time) in series {
            lastGood[meter] = max(lastGood[meter] ?? startedMs, time ?? startedMs)
            if let time { lastRead[meter] = max(lastRead[meter] ?? time, time) }
        }
        let offlineAfter = offlineAfterMs
        func time(_ ms: Int64) -> String { AlertRuleText.time(ms, calendar) }
        var findings: [AlertFinding] = []
        for enterprise in enterprises {
            for (gatewayID, meters) in Dictionary(grouping: enterprise.meters, by: \.gateway).sorted(by: { $0.key < $1.key }) {
                // A meter never read is not recent because energyd has just started: a restart must not clear its alert.
                func recent(_ meter: MeterConfig) -> Bool {
                    lastRead[meter.id].map { nowMs - $0 <= 2 * Int64(meter.intervalSeconds) * 1000 } ?? false
                }
                let latest = meters.map { lastGood[$0.id] ?? startedMs }.max() ?? startedMs
                let gatewaySilent = nowMs - latest >= offlineAfter
                let gatewayAlive = meters.contains(where: recent)
                let gatewayKey = "gateway_offline/\(gatewayID)/\(enterprise.id)"
                let gatewayCondition: AlertCondition = gatewaySilent ? .active : gatewayAlive ? .ended : .undecided
                if AlertTransitions.changes(gatewayKey, gatewayCondition, open: open) {
                    findings.append(
                        AlertFinding(
                            key: gatewayKey, kind: .gatewayOffline, severity: .critical,
                            enterprise: AlertRuleText.reference(enterprise), subject: gatewayID, period: time(latest),
                            measured: Double(nowMs - latest) / 3_600_000, limit: Double(offlineAfter) / 3_600_000,
                            evidence: ["last_good_reading": .text(time(latest)), "meters": .list(meters.map { .text($0.id) })],
                            message: gatewaySilent
                                ? "网关 \(gatewayID)（\(enterprise.name)）的全部 \(meters.count) 块计量表自 \(time(latest)) 起无有效数据。"
                                : "网关 \(gatewayID)（\(enterprise.name)）已恢复数据采集。",
                            condition: gatewayCondition))
                }
                for meter in meters {
                    let last = lastGood[meter.id] ?? startedMs
                    let silent = nowMs - last >= offlineAfter
                    let condition: AlertCondition = silent && gatewayAlive ? .active : recent(meter) ? .ended : .undecided
                    guard AlertTransitions.changes("meter_offline/\(meter.id)", condition, open: open) else { continue }
                    findings.append(
                        AlertFinding(
                            key: "meter_offline/\(meter.id)", kind: .meterOffline, severity: .warning,
                            enterprise: AlertRuleText.reference(enterprise), subject: meter.id, period: time(last),
                            measured: Double(nowMs - last) / 3_600_000, limit: Double(offlineAfter) / 3_600_000,
                            evidence: [
                                "last_good_reading": .text(time(last)), "gateway": .text(gatewayID),
                                meter.meterAddress == nil ? "unit_id" : "meter_address":
                                    meter.meterAddress.map { .text($0) } ?? .number(Double(meter.unitID)),
                            ],
                            message: silent
                                ? "计量表 \(meter.id)（\(enterprise.name)，网关 \(gatewayID) \(meter.meterAddress.map { "地址 \($0)" } ?? "单元 \(meter.unitID)")）自 \(time(last)) 起无有效数据。"
                                : "计量表 \(meter.id)（\(enterprise.name)）已恢复数据。",
                            condition: condition))
                }
            }
        }
        return findings
    }
}
