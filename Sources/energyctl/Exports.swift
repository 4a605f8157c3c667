import ArgumentParser
import EnergyModel
import EnergyReports
import Spreadsheet

/// Formats of the reports and the consumption table: the terminal's, CSV, JSON, and an Excel workbook.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case table, csv, json, xlsx
}

/// Where a workbook goes: `--output` is required with `--format xlsx` (a workbook on a terminal is no use).
func workbookPath(_ format: ExportFormat, _ output: String?) throws -> String? {
    guard format == .xlsx else { return nil }
    guard let output else { throw ValidationError("--format xlsx needs --output FILE.xlsx") }
    return output
}
