import EnergyModel
import EnergyReports
import Foundation

/// Charts drawn on the server as SVG: no script, no library, nothing fetched; they print as they show.
enum Chart {
    static let palette = ["#2f6fb0", "#e07b39", "#3b9a57", "#c2413b", "#8a63b8", "#8c6d3f", "#d46fa6", "#6f7f8f", "#b5a33a", "#3aa6b5"]
    static let width = 760.0
    static let height = 260.0
    static let left = 64.0
    static let bottom = 40.0
    static let top = 16.0

    /// Stacked bars: one bar per category, one colour per series, with a legend.
    static func stackedBars(categories: [String], series: [(name: String, values: [Double])], unit: String) -> String {
        let totals = categories.indices.map { i in series.map { max(0, $0.values[i]) }.reduce(0, +) }
        // A plant's month is millions of kgce: its axis reads better in tce (4 digits, not 7).
        if unit == "kgce", (totals.max() ?? 0) >= 100_000 {
            return stackedBars(categories: categories, series: series.map { ($0.name, $0.values.map { $0 / 1000 }) }, unit: "tce")
        }
        let maximum = niceMaximum(totals.max() ?? 0)
        var svg = frame(maximum: maximum, unit: unit)
        let plotWidth = width - left - 16
        let step = plotWidth / Double(max(categories.count, 1))
        let barWidth = max(2, step * 0.7)
        for (i, category) in categories.enumerated() {
            var y = height - bottom
            let x = left + Double(i) * step + (step - barWidth) / 2
            for (s, line) in series.enumerated() {
                let value = max(0, line.values[i])
                let h = value / maximum * (height - bottom - top)
                y -= h
                svg += rect(
                    x, y, barWidth, h, palette[s % palette.count], title: "\(category) \(line.name): \(Format.number(value)) \(unit)")
            }
            if categories.count <= 16 || i % max(1, categories.count / 12) == 0 {
                svg += text(x + barWidth / 2, height - bottom + 14, shortLabel(category), anchor: "middle")
            }
        }
        return svg + legend(series.map(\.name)) + "</svg>"
    }

    /// Lines over categories, with horizontal reference lines (quota levels).
    static func lines(
        categories: [String], series: [(name: String, values: [Double?])], references: [(name: String, value: Double)], unit: String
    )
        -> String
    {
        let values = series.flatMap { $0.values.compactMap { $0 } } + references.map(\.value)
        let maximum = niceMaximum(values.max() ?? 0)
        var svg = frame(maximum: maximum, unit: unit)
        let plotWidth = width - left - 16
        let step = plotWidth / Double(max(categories.count, 1))
        func y(_ v: Double) -> Double { height - bottom - v / maximum * (height - bottom - top) }
        let referenceColours = ["#3b9a57", "#b5a33a", "#c2413b"]
        for (r, reference) in references.enumerated() {
            svg +=
                "<line x1=\"\(left)\" x2=\"\(width - 16)\" y1=\(q(y(reference.value))) y2=\(q(y(reference.value))) stroke=\"\(referenceColours[r % 3])\" stroke-dasharray=\"6 4\"><title>\(escape("\(reference.name) \(Format.number(reference.value))"))</title></line>"
        }
        for (s, line) in series.enumerated() {
            let colour = palette[s % palette.count]
            var path = ""
            for (i, value) in line.values.enumerated() {
                guard let value else { continue }
                let x = left + Double(i) * step + step / 2
                path += (path.isEmpty ? "M" : "L") + "\(fmt(x)),\(fmt(y(value))) "
                svg +=
                    "<circle cx=\(q(x)) cy=\(q(y(value))) r=\"3\" fill=\"\(colour)\"><title>\(escape("\(categories[i]) \(line.name): \(Format.number(value)) \(unit)"))</title></circle>"
            }
            if !path.isEmpty { svg += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>" }
        }
        for (i, category) in categories.enumerated() where categories.count <= 16 || i % max(1, categories.count / 12) == 0 {
            svg += text(left + Double(i) * step + step / 2, height - bottom + 14, shortLabel(category), anchor: "middle")
        }
        // The level lines lie close together: named in the legend, not beside the lines.
        let names = series.map(\.name) + references.map { "\($0.name) \(Format.number($0.value))" }
        let colours = series.indices.map { palette[$0 % palette.count] } + references.indices.map { referenceColours[$0 % 3] }
        return svg + legend(names, colours: colours) + "</svg>"
    }

    /// A strip of days coloured by completeness: green full, amber partial, red missing.
    static func strip(_ days: [(label: String, completeness: Double)]) -> String {
        let cell = min(24, (width - left - 16) / Double(max(days.count, 1)))
        var svg = "<svg class=\"chart strip\" viewBox=\"0 0 \(fmt(width)) 44\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
        for (i, day) in days.enumerated() {
            let colour = day.completeness >= 0.99 ? "#3b9a57" : day.completeness >= 0.5 ? "#e0b339" : "#c2413b"
            svg += rect(left + Double(i) * cell, 4, cell - 1, 20, colour, title: "\(day.label): \(percent(day.completeness))")
        }
        if let first = days.first, let last = days.last {
            svg += text(left, 38, first.label, anchor: "start") + text(left + Double(days.count) * cell, 38, last.label, anchor: "end")
        }
        return svg + "</svg>"
    }

    /// A trend over time with marks below it (failed readings, counter events).
    static func trend(
        fromMs: Int64, toMs: Int64, points: [(ms: Int64, value: Double)], marks: [(ms: Int64, label: String, colour: String)], unit: String,
        axis: (Int64) -> String
    ) -> String {
        let low = points.map(\.value).min() ?? 0
        let high = points.map(\.value).max() ?? 1
        let span = high > low ? high - low : max(1, abs(high))
        let minimum = low - span * 0.05
        let maximum = high + span * 0.05
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
        func x(_ ms: Int64) -> Double { left + Double(ms - fromMs) / Double(max(toMs - fromMs, 1)) * (width - left - 16) }
        func y(_ v: Double) -> Double { height - bottom - (v - minimum) / (maximum - minimum) * (height - bottom - top - 12) }
        for i in 0...4 {
            let value = minimum + (maximum - minimum) * Double(i) / 4
            svg += "<line x1=\"\(left)\" x2=\"\(width - 16)\" y1=\(q(y(value))) y2=\(q(y(value))) stroke=\"#ddd\"/>"
            svg += text(left - 4, y(value) + 4, Format.number(value), anchor: "end")
        }
        svg += text(4, top - 4, unit, anchor: "start")
        let path = points.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(fmt(x($0.element.ms))),\(fmt(y($0.element.value)))" }.joined(
            separator: " ")
        if !path.isEmpty { svg += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(palette[0])\" stroke-width=\"1.5\"/>" }
        for mark in marks {
            svg +=
                "<line class=\"mark\" x1=\(q(x(mark.ms))) x2=\(q(x(mark.ms))) y1=\"\(height - bottom)\" y2=\"\(height - bottom + 8)\" stroke=\"\(mark.colour)\" stroke-width=\"2\"><title>\(escape(mark.label))</title></line>"
        }
        for i in 0...4 {
            let ms = fromMs + (toMs - fromMs) * Int64(i) / 4
            svg += text(x(ms), height - bottom + 22, axis(ms), anchor: i == 0 ? "start" : i == 4 ? "end" : "middle")
        }
        return svg + "</svg>"
    }

    // MARK: Pieces

    private static func frame(maximum: Double, unit: String) -> String {
        var svg =
            "<svg class=\"chart\" viewBox=\"0 0 \(fmt(width)) \(fmt(height + 24))\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
        for i in 0...4 {
            let value = maximum * Double(i) / 4
            let y = height - bottom - Double(i) / 4 * (height - bottom - top)
            svg += "<line x1=\"\(left)\" x2=\"\(width - 16)\" y1=\(q(y)) y2=\(q(y)) stroke=\"#ddd\"/>"
            svg += text(left - 4, y + 4, Format.number(value), anchor: "end")
        }
        return svg + text(4, top - 4, unit, anchor: "start")
    }

    private static func legend(_ names: [String], colours: [String]? = nil) -> String {
        var x = left
        var svg = ""
        for (i, name) in names.enumerated() {
            let colour = colours?[i] ?? palette[i % palette.count]
            svg += rect(x, height + 6, 10, 10, colour, title: name) + text(x + 14, height + 15, name, anchor: "start")
            // Chinese characters take about twice the width of Latin ones at this size.
            x += 24 + name.unicodeScalars.map { $0.isASCII ? 6.5 : 11.5 }.reduce(0, +)
        }
        return svg
    }

    private static func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ colour: String, title: String) -> String {
        "<rect x=\(q(x)) y=\(q(y)) width=\(q(w)) height=\(q(h)) fill=\"\(colour)\"><title>\(escape(title))</title></rect>"
    }

    private static func text(_ x: Double, _ y: Double, _ content: String, anchor: String, colour: String = "#444") -> String {
        "<text x=\(q(x)) y=\(q(y)) font-size=\"11\" text-anchor=\"\(anchor)\" fill=\"\(colour)\">\(escape(content))</text>"
    }

    /// "2026-01-05" → "01-05", "2026-01" → "01" when many labels share a year.
    private static func shortLabel(_ label: String) -> String { label.count == 10 ? String(label.dropFirst(5)) : label }

    private static func niceMaximum(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for step in [1.0, 2, 2.5, 5, 10] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    private static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }
    private static func q(_ value: Double) -> String { "\"\(fmt(value))\"" }
}

/// HTML/XML text escaping.
func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(character)
        }
    }
    return out
}

/// Numbers on chart axes and in tooltips: as many decimals as the magnitude needs (report figures use
/// EnergyReports' `fixed` and `percent`).
enum Format {
    static func number(_ value: Double) -> String {
        abs(value) >= 1000
            ? String(format: "%.0f", value) : abs(value) >= 10 ? String(format: "%.1f", value) : String(format: "%.2f", value)
    }
}
