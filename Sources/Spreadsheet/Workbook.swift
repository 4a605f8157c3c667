import Foundation
import ZIPFoundation

/// One cell of a worksheet: numbers are stored as numbers, so that Excel sums and charts them.
public enum Cell: Sendable, Hashable {
    /// A number, shown with two decimals and thousands separators.
    case number(Double)
    /// A number shown with four decimals (conversion factors: 0.1229 kgce/kWh, not 0.12).
    case precise(Double)
    /// A count, shown without decimals.
    case count(Int)
    /// A share, stored as the fraction (0.75) and shown as a percentage.
    case percent(Double)
    /// Text.
    case text(String)
    /// Nothing (a figure that does not exist, such as a unit consumption without output).
    case empty
}

/// A column: its header, with the unit in it ("综合能耗 (tce)"), and its width in characters.
public struct Column: Sendable, Hashable {
    public var header: String
    public var width: Double

    /// A column `width` characters wide (a CJK character counts as two).
    public init(_ header: String, width: Double) {
        self.header = header
        self.width = width
    }
}

/// One table of a workbook.
public struct Sheet: Sendable, Hashable {
    /// The tab's name; Excel allows 31 characters and none of `[]:*?/\`.
    public var name: String
    public var columns: [Column]
    public var rows: [[Cell]]

    /// A sheet; rows shorter than the columns are padded with empty cells.
    public init(name: String, columns: [Column], rows: [[Cell]]) {
        self.name = name
        self.columns = columns
        self.rows = rows
    }
}

/// Writes Office Open XML workbooks (.xlsx): one sheet per table, a bold frozen header row, column widths set, text
/// wrapped within its column, printed on A4 landscape to the page's width with the header row on every page, text as
/// inline strings. The minimal set of parts Excel, LibreOffice and openpyxl need.
public enum Workbook {
    /// The workbook's bytes.
    public static func data(_ sheets: [Sheet]) throws -> Data {
        let archive = try Archive(data: Data(), accessMode: .create)
        let names = uniqueNames(sheets.map(\.name))
        var parts: [(String, String)] = [
            ("[Content_Types].xml", contentTypes(sheetCount: sheets.count)),
            ("_rels/.rels", rootRelationships),
            ("xl/workbook.xml", workbook(names)),
            ("xl/_rels/workbook.xml.rels", workbookRelationships(sheetCount: sheets.count)),
            ("xl/styles.xml", styles),
        ]
        for (index, sheet) in sheets.enumerated() { parts.append(("xl/worksheets/sheet\(index + 1).xml", worksheet(sheet))) }
        for (path, text) in parts {
            let bytes = Data(text.utf8)
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(bytes.count), compressionMethod: .deflate) {
                position, size in bytes.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        guard let data = archive.data else { throw WorkbookError("the archive has no data") }
        return data
    }

    /// Writes the workbook to `path`, replacing it atomically.
    public static func write(_ sheets: [Sheet], to path: String) throws {
        try data(sheets).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    // MARK: Parts

    static let styleHeader = 1
    static let styleNumber = 2
    static let stylePercent = 3
    static let styleCount = 4
    static let styleText = 5
    static let stylePrecise = 6

    static func worksheet(_ sheet: Sheet) -> String {
        var xml = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
            <sheetPr><pageSetUpPr fitToPage="1"/></sheetPr><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>\
            </sheetView></sheetViews><cols>
            """
        for (index, column) in sheet.columns.enumerated() {
            xml += "<col min=\"\(index + 1)\" max=\"\(index + 1)\" width=\"\(column.width)\" customWidth=\"1\"/>"
        }
        xml += "</cols><sheetData>"
        let header = sheet.columns.map { Cell.text($0.header) }
        for (rowIndex, row) in ([header] + sheet.rows).enumerated() {
            xml += "<row r=\"\(rowIndex + 1)\">"
            for (columnIndex, cell) in row.enumerated() {
                let reference = columnName(columnIndex) + String(rowIndex + 1)
                switch cell {
                case .number(let value) where value.isFinite:
                    xml += "<c r=\"\(reference)\" s=\"\(styleNumber)\"><v>\(value)</v></c>"
                case .precise(let value) where value.isFinite:
                    xml += "<c r=\"\(reference)\" s=\"\(stylePrecise)\"><v>\(value)</v></c>"
                case .count(let value):
                    xml += "<c r=\"\(reference)\" s=\"\(styleCount)\"><v>\(value)</v></c>"
                case .percent(let value) where value.isFinite:
                    xml += "<c r=\"\(reference)\" s=\"\(stylePercent)\"><v>\(value)</v></c>"
                case .text(let text):
                    let style = " s=\"\(rowIndex == 0 ? styleHeader : styleText)\""
                    xml += "<c r=\"\(reference)\" t=\"inlineStr\"\(style)><is><t xml:space=\"preserve\">\(escaped(text))</t></is></c>"
                case .number, .precise, .percent, .empty:
                    break
                }
            }
            xml += "</row>"
        }
        // Printed on A4 (paper size 9) landscape, as wide as the page: the inspection team prints these tables.
        return xml + "</sheetData><pageSetup paperSize=\"9\" orientation=\"landscape\" fitToWidth=\"1\" fitToHeight=\"0\"/></worksheet>"
    }

    static func workbook(_ names: [String]) -> String {
        let sheets = names.enumerated().map { index, name in
            "<sheet name=\"\(escaped(name))\" sheetId=\"\(index + 1)\" r:id=\"rId\(index + 1)\"/>"
        }.joined()
        // The header row is printed again on every page of a long sheet.
        let titles = names.enumerated().map { index, name in
            "<definedName name=\"_xlnm.Print_Titles\" localSheetId=\"\(index)\">'\(escaped(name.replacingOccurrences(of: "'", with: "''")))'!$1:$1</definedName>"
        }.joined()
        return """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
            xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>\(sheets)</sheets>\
            <definedNames>\(titles)</definedNames></workbook>
            """
    }

    static func workbookRelationships(sheetCount: Int) -> String {
        let sheets = (1..<(sheetCount + 1)).map {
            "<Relationship Id=\"rId\($0)\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" "
                + "Target=\"worksheets/sheet\($0).xml\"/>"
        }.joined()
        return """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\(sheets)\
            <Relationship Id="rId\(sheetCount + 1)" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" \
            Target="styles.xml"/></Relationships>
            """
    }

    static func contentTypes(sheetCount: Int) -> String {
        let sheets = (1..<(sheetCount + 1)).map {
            "<Override PartName=\"/xl/worksheets/sheet\($0).xml\" "
                + "ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
        }.joined()
        return """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
            <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
            <Default Extension="xml" ContentType="application/xml"/>\
            <Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
            <Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
            \(sheets)</Types>
            """
    }

    static let rootRelationships = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
        <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
        Target="xl/workbook.xml"/></Relationships>
        """

    /// Styles: 0 plain, 1 bold header (wrapped), 2 number #,##0.00 (built-in 4), 3 percentage 0.00% (built-in 10), 4 count
    /// #,##0 (built-in 3), 5 text wrapped within its column (a long list of names is printed whole), 6 #,##0.0000.
    static let styles = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
        <numFmts count="1"><numFmt numFmtId="164" formatCode="#,##0.0000"/></numFmts>\
        <fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>\
        <fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>\
        <borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
        <cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
        <cellXfs count="7"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
        <xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1"><alignment wrapText="1" vertical="top"/></xf>\
        <xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
        <xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
        <xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
        <xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1"><alignment wrapText="1" vertical="top"/></xf>\
        <xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>\
        <cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>
        """

    // MARK: Helpers

    /// A, B, … Z, AA, AB, …
    static func columnName(_ index: Int) -> String {
        var name = ""
        var number = index + 1
        while number > 0 {
            let remainder = (number - 1) % 26
            name = String(UnicodeScalar(UInt8(65 + remainder))) + name
            number = (number - 1) / 26
        }
        return name
    }

    /// XML text: markup characters escaped, characters XML 1.0 forbids (most control characters) left out.
    static func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value >= 0x20, scalar.value != 0xFFFE, scalar.value != 0xFFFF { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    /// Sheet names Excel accepts: forbidden characters replaced, at most 31 characters, no two alike.
    static func uniqueNames(_ names: [String]) -> [String] {
        var used: Set<String> = []
        return names.map { name in
            let cleaned = String(name.map { "[]:*?/\\".contains($0) ? "_" : $0 }.prefix(31))
            var candidate = cleaned.isEmpty ? "Sheet" : cleaned
            var number = 2
            while used.contains(candidate.lowercased()) {
                candidate = String(cleaned.prefix(27)) + " (\(number))"
                number += 1
            }
            used.insert(candidate.lowercased())
            return candidate
        }
    }
}

/// A workbook that could not be made.
public struct WorkbookError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
