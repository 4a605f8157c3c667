import EnergyModel

/// Whether a configuration may replace the one in force: a file emptied or cut short by an editor, a failed
/// deployment or a full disk must not stop the monitoring of a district.
public enum ConfigurationChange {
    /// Refuses `configuration` as the first one energyd runs (an empty or truncated `file`), as an error of `file`.
    public static func checkStart(_ configuration: EnergyConfiguration, file: String) throws(ConfigErrors) {
        if let refusal = refusal(from: nil, to: configuration) {
            throw ConfigErrors([ConfigError(file: file, line: 0, key: "enterprises", message: refusal)])
        }
    }

    /// Why `next` is refused in place of `previous` (nil at start), or nil when it may be applied.
    public static func refusal(from previous: EnergyConfiguration?, to next: EnergyConfiguration) -> String? {
        let meters = Set(next.meters.map(\.meter.id))
        if meters.isEmpty, !next.daemon.allowNoMeters {
            return "the configuration has no meters (an empty or truncated file?); set [daemon] allow_no_meters = true to run with none"
        }
        guard let previous, !previous.meters.isEmpty else { return nil }
        let lost = previous.meters.filter { !meters.contains($0.meter.id) }.count
        let share = Double(lost) / Double(previous.meters.count)
        if share > next.daemon.reloadMaxMeterLoss {
            return "the configuration drops \(lost) of the \(previous.meters.count) meters in force, more than reload_max_meter_loss = "
                + "\(next.daemon.reloadMaxMeterLoss) allows (a truncated file?); raise it in the new file to apply such a change"
        }
        return nil
    }
}
