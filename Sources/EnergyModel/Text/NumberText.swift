import Foundation

/// A figure as every report, message and page prints it: two decimals.
public func fixed(_ value: Double) -> String { String(format: "%.2f", value) }
/// A share as every report, message and page prints it: "75.0%".
public func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }
/// A share that may be missing: "-" then.
public func optionalPercent(_ value: Double?) -> String { value.map(percent) ?? "-" }
