import EnergyModel
import EnergyReports
import Foundation
import TestSupport
import Testing

/// The workbooks `energyctl` writes, read back by an independent reader (openpyxl, Debian's python3-openpyxl),
/// hold the same figures as its JSON; its CSV opens in Excel as UTF-8.
@Suite(.serialized) struct ExportTests {
    let figures = DistrictFiguresTests()

    func energyctl(_ arguments: [String], store: String) async throws -> String {
        let process = try ChildProcess("energyctl", arguments + ["--config", shippedConfigPath, "--database", store])
        #expect(await process.waitForExit() == 0, "\(arguments): \(process.printed)")
        return process.standardOutput
    }

    /// Every sheet of a workbook as openpyxl reads it: name, column widths, whether the header is bold, and rows.
    func read(_ workbook: String) async throws -> [[String: Any]] {
        let script = """
            import json, sys, openpyxl
            book = openpyxl.load_workbook(sys.argv[1])
            out = []
            for sheet in book.worksheets:
                rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
                widths = [sheet.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width for i in range(sheet.max_column)]
                out.append({"name": sheet.title, "rows": rows, "widths": widths, "bold": all(c.font.b for c in sheet[1] if c.value),
                    "formats": [[cell.number_format for cell in row] for row in sheet.iter_rows()],
                    "wrapped": all(c.alignment.wrap_text for row in sheet.iter_rows(min_row=2) for c in row if isinstance(c.value, str)),
                    "paper": sheet.page_setup.paperSize, "titles": sheet.print_title_rows})
            print(json.dumps(out, ensure_ascii=False))
            """
        let reader = try ChildProcess("/usr/bin/python3", ["-c", script, workbook])
        #expect(await reader.waitForExit() == 0, "\(reader.printed)")
        return try #require(try JSONSerialization.jsonObject(with: Data(reader.standardOutput.utf8)) as? [[String: Any]])
    }

    /// The text of `workbook` as LibreOffice prints it (to PDF, read back by pdftotext).
    func pdfText(_ workbook: String, in directory: TemporaryDirectory) async throws -> String {
        let office = try ChildProcess(
            "/usr/bin/soffice", ["--headless", "--norestore", "--convert-to", "pdf", "--outdir", directory.path, workbook],
            environment: ["HOME": directory.path])
        #expect(await office.waitForExit(timeout: .seconds(120)) == 0, "\(office.printed)")
        let pdf = directory.path + "/" + ((workbook as NSString).lastPathComponent as NSString).deletingPathExtension + ".pdf"
        let text = try ChildProcess("/usr/bin/pdftotext", ["-layout", pdf, "-"])
        #expect(await text.waitForExit() == 0, "\(text.printed)")
        return text.standardOutput
    }

    @Test func districtAndEnterpriseWorkbooksHoldTheReportsFigures() async throws {
        let district = try await figures.district(days: 31)
        defer { district.directory.remove() }
        let store = district.directory.file("energy.sqlite")

        let districtBook = district.directory.file("district.xlsx")
        _ = try await energyctl(["report", "district", "--period", "2026-01", "--format", "xlsx", "--output", districtBook], store: store)
        let json = try JSONSerialization.jsonObject(
            with: Data(try await energyctl(["report", "district", "--period", "2026-01", "--format", "json"], store: store).utf8))
        let total = try #require((json as? [String: Any])?["total"] as? [String: Any])
        let sheets = try await read(districtBook)
        #expect(sheets.map { $0["name"] as? String } == ["区域报告 2026-01"])
        let rows = try #require(sheets.first?["rows"] as? [[Any]])
        #expect(rows.first?.first as? String == "镇/园区" && rows.first?[10] as? String == "综合能耗 (tce)")
        #expect(sheets.first?["bold"] as? Bool == true)
        #expect((sheets.first?["widths"] as? [Double])?.first == 18)
        // The district line: numbers stored as numbers, equal to the JSON's to the last digit.
        let last = try #require(rows.last)
        #expect(last[0] as? String == "全区")
        #expect(last[2] as? Double == Double(total["metersOnline"] as? Int ?? -1))
        #expect(last[6] as? Double == total["complianceRate"] as? Double)
        #expect(last[10] as? Double == total["comprehensiveTce"] as? Double)
        #expect(last[7] as? String == "龙河建材水泥有限公司")
        // As printed: A4, the header row on every page, long lists wrapped within their column, not cut off.
        #expect(sheets.first?["paper"] as? String == "9" || sheets.first?["paper"] as? Int == 9, "\(sheets.first?["paper"] ?? "-")")
        #expect(sheets.first?["titles"] as? String == "$1:$1")
        #expect(sheets.first?["wrapped"] as? Bool == true)
        let printed = try await pdfText(districtBook, in: district.directory)
        #expect(printed.contains("龙河建材水泥有限公司"), "\(printed.prefix(2000))")

        let enterpriseBook = district.directory.file("E02.xlsx")
        _ = try await energyctl(
            ["report", "enterprise", "E02", "--period", "2026-01", "--format", "xlsx", "--output", enterpriseBook], store: store)
        let report = try #require(
            try JSONSerialization.jsonObject(
                with: Data(
                    try await energyctl(["report", "enterprise", "E02", "--period", "2026-01", "--format", "json"], store: store).utf8))
                as? [String: Any])
        let product = try #require((report["products"] as? [[String: Any]])?.first)
        let enterpriseSheets = try await read(enterpriseBook)
        #expect(enterpriseSheets.map { $0["name"] as? String } == ["能源消费", "产品单耗", "未解除告警"])
        let productRow = try #require((enterpriseSheets[1]["rows"] as? [[Any]])?.dropFirst().first)
        #expect(productRow[0] as? String == "水泥熟料")
        let productHeader = try #require((enterpriseSheets[1]["rows"] as? [[Any]])?.first)
        #expect(productHeader[2] as? String == "产量（单位列之分母）" && productHeader[3] as? String == "边界内能耗（单位列之分子）")
        #expect(productRow[4] as? Double == product["unitConsumption"] as? Double)
        #expect(productRow[8] as? Double == 117)
        #expect(productRow[9] as? String == "超过限定值")
        let energyRows = try #require(enterpriseSheets[0]["rows"] as? [[Any]])
        // Conversion factors with four decimals: 0.1229 kgce/kWh, not 0.12.
        let formats = try #require(enterpriseSheets[0]["formats"] as? [[String]])
        let factorFormats = zip(energyRows, formats).dropFirst().filter { $0.0[5] is Double }.map { $0.1[5] }
        #expect(!factorFormats.isEmpty && factorFormats.allSatisfy { $0 == "#,##0.0000" }, "\(factorFormats)")
        // Severities in Chinese on Chinese sheets.
        let alertRows = try #require(enterpriseSheets[2]["rows"] as? [[Any]]).dropFirst()
        #expect(alertRows.allSatisfy { ["严重", "警告", "提示"].contains($0[2] as? String ?? "") }, "\(alertRows.map { $0[2] })")
        #expect(energyRows.last?[3] as? Double == report["comprehensiveKgce"] as? Double)

        // LibreOffice, headless, opens the enterprise workbook and prints it to PDF without error.
        let office = try ChildProcess(
            "/usr/bin/soffice",
            ["--headless", "--norestore", "--convert-to", "pdf", "--outdir", district.directory.path, enterpriseBook],
            environment: ["HOME": district.directory.path])
        #expect(await office.waitForExit(timeout: .seconds(120)) == 0, "\(office.printed)")
        let pdf = district.directory.file("E02.pdf")
        #expect(((try? FileManager.default.attributesOfItem(atPath: pdf)[.size] as? Int) ?? 0) > 1000, "\(office.printed)")

        // The consumption table by month: the total row's kgce is the report's comprehensive consumption.
        let consumptionBook = district.directory.file("E02-consumption.xlsx")
        _ = try await energyctl(
            [
                "consumption", "--enterprise", "E02", "--from", "2026-01-01", "--to", "2026-02-01", "--by", "month", "--format", "xlsx",
                "--output", consumptionBook,
            ], store: store)
        let consumption = try #require(try await read(consumptionBook).first?["rows"] as? [[Any]])
        #expect(consumption.last?[1] as? String == "综合能耗")
        #expect(consumption.last?[4] as? Double == report["comprehensiveKgce"] as? Double)

        // CSV starts with a UTF-8 byte-order mark, so Excel shows 龙河 rather than mojibake.
        let csv = try await energyctl(["report", "district", "--period", "2026-01", "--format", "csv"], store: store)
        #expect(csv.hasPrefix("\u{FEFF}"))
        // A workbook needs a file to go to.
        let missing = try ChildProcess(
            "energyctl",
            ["report", "district", "--period", "2026-01", "--format", "xlsx", "--config", shippedConfigPath, "--database", store])
        #expect(await missing.waitForExit() == 64)
        #expect(missing.printed.contains("--format xlsx needs --output"))
    }
}
