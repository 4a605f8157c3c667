import Accounts
import EnergyModel
import EnergyReports
import EnergyStore
import Foundation
import NIOHTTP1

/// The console's pages: the same figures as `energyctl report`, with charts.
extension WebConsole {
    func logout(_ request: HTTPRequest, _ principal: Principal) async throws -> HTTPAnswer {
        if let token = request.cookie(Self.sessionCookie) { try await store.accounts.removeSession(tokenHash: Secrets.tokenHash(token)) }
        try await store.accounts.audit(
            account: principal.account.name, action: "logout", detail: "", remote: request.remoteAddress, atMs: nowMs())
        return .seeOther("/login", setCookies: [sessionCookie("", request: request, maxAge: 0)])
    }

    /// The district overview; an enterprise account goes to its own page.
    func home(_ call: Call, _ principal: Principal) async throws -> HTTPAnswer {
        if principal.role == .enterprise, let own = principal.account.scope.first {
            return .seeOther("/enterprises/" + own)
        }
        return Pages.html(try await overview(call.request, principal, call.language, configuration()), language: call.language)
    }

    /// The enterprise page's production form.
    func productionForm(_ call: Call, _ principal: Principal) async throws -> HTTPAnswer {
        let configuration = configuration()
        let enterprise = try enterprise(call.id, for: principal, in: configuration)
        let form = call.request.form
        let input = ProductionInput(
            product: form["product"] ?? "", date: form["date"] ?? "", quantity: Double(form["quantity"] ?? "") ?? .nan)
        _ = try await enterProduction(input, of: enterprise, by: principal, request: call.request, configuration)
        return .seeOther("/enterprises/\(call.id)#production")
    }

    /// A month of energy entered with the enterprise page's form.
    func entryForm(_ call: Call, _ principal: Principal) async throws -> HTTPAnswer {
        let configuration = configuration()
        let enterprise = try enterprise(call.id, for: principal, in: configuration)
        let form = call.request.form
        let input = EnergyEntryInput(
            month: form["month"] ?? "", energy: form["energy"] ?? "", unit: form["unit"] ?? "",
            consumption: try number(form, "consumption"),
            purchases: try number(form, "purchases"), openingStock: try number(form, "openingStock"),
            closingStock: try number(form, "closingStock"))
        let entered = try await enterEnergy(input, of: enterprise, by: principal, request: call.request, configuration)
        // Back to the month entered, where the entry shows.
        return .seeOther("/enterprises/\(call.id)?period=\(entered.month)#entries")
    }

    /// A month's output value entered with the enterprise page's form.
    func outputValueForm(_ call: Call, _ principal: Principal) async throws -> HTTPAnswer {
        let configuration = configuration()
        let enterprise = try enterprise(call.id, for: principal, in: configuration)
        let form = call.request.form
        let input = OutputValueInput(
            month: form["month"] ?? "", grossOutput: try number(form, "grossOutput") ?? .nan, valueAdded: try number(form, "valueAdded"))
        let entered = try await enterOutputValue(input, of: enterprise, by: principal, request: call.request, configuration)
        return .seeOther("/enterprises/\(call.id)?period=\(entered.month)#output-values")
    }

    /// A form's number: nil for an empty field, a refusal for anything but a number.
    func number(_ form: [String: String], _ name: String) throws -> Double? {
        guard let text = form[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        guard let value = Double(text) else { throw WebError.badRequest("\(name) \(text) is not a number") }
        return value
    }

    // MARK: District

    func overview(_ request: HTTPRequest, _ principal: Principal, _ l: Language, _ configuration: EnergyConfiguration) async throws
        -> String
    {
        let scoped = principal.scoped(configuration)
        let period = try await period(request.query, calendar: configuration.calendar)
        let report = try await districtReport(principal, configuration, period)
        let openAlerts = try await alerts(["state": "open"], scoped).count
        var content = Pages.periodForm(l, period: period.label, action: "/")
        content +=
            "<p class=\"figures\"><span>\(l.t("综合能耗", "Total")) <b id=\"total-tce\">\(String(format: "%.1f", report.total.comprehensiveTce))</b> tce</span>"
        content +=
            "<span>\(l.t("对标达标率", "Benchmark compliance")) <b id=\"compliance\">\(report.total.complianceRate.map(percent) ?? "-")</b>（\(l.t("目标", "target")) ≥ 70%）</span>"
        content +=
            "<span><a href=\"/alerts?state=open\">\(l.t("未解除告警", "Open alerts")) <b id=\"open-alerts\">\(openAlerts)</b></a></span></p>"
        content += districtTable(report, l)
        // tce by town and month over the period's year.
        let year = String(period.label.prefix(4))
        if let yearPeriod = ReportPeriod(year, calendar: configuration.calendar) {
            let months = (1...12).map { String(format: "%@-%02d", year, $0) }
            let byTown = try await townsByMonth(principal, configuration, year: yearPeriod)
            content += "<h2>\(l.t("各镇/园区逐月综合能耗", "Consumption by town/park and month")) \(escape(year))</h2>"
            content += Chart.stackedBars(categories: months, series: byTown.keys.sorted().map { ($0, byTown[$0]!) }, unit: "tce")
        }
        content += "<h2>\(l.t("企业", "Enterprises"))</h2>"
        let rows = scoped.enterprises.map { e in
            [
                "<a href=\"/enterprises/\(escape(e.id))?period=\(escape(period.label))\">\(escape(e.name))</a>", escape(e.id),
                escape(e.jurisdiction), escape(DomainNames.industry(e.industry, zh: l.zh)), String(e.meters.count),
            ]
        }
        content += Pages.table(
            [l.t("企业", "Enterprise"), "ID", l.t("镇/园区", "Town/park"), l.t("行业", "Industry"), l.t("计量器具", "Meters")], rows,
            id: "enterprises", numeric: [4])
        return Pages.document(l.t("区域总览", "District overview"), l, principal: principal, period: period.label, content: content)
    }

    func districtReport(_ request: HTTPRequest, _ principal: Principal, _ l: Language, _ configuration: EnergyConfiguration) async throws
        -> String
    {
        let scoped = principal.scoped(configuration)
        let period = try await period(request.query, calendar: configuration.calendar)
        let report = try await districtReport(principal, configuration, period)
        var content = Pages.periodForm(l, period: period.label, action: "/report")
        content +=
            "<p>\(l.t("宿城区重点用能单位能耗在线监测 区域报告", "District energy monitoring report"))  \(l.t("期间", "period")) \(escape(report.period))</p>"
        content += districtTable(report, l)
        // The notes of `energyctl report district`, line for line.
        content += report.notes(zh: l.zh).enumerated().map { index, line in
            "<p\(index == 0 ? " id=\"compliance-verdict\"" : "") class=\"note\">\(escape(line))</p>"
        }.joined()
        content += "<h2>\(l.t("企业月报", "Enterprise reports"))</h2><ul>"
        for e in scoped.enterprises {
            content +=
                "<li><a href=\"/enterprises/\(escape(e.id))?period=\(escape(period.label))\">\(escape(e.name))（\(escape(e.jurisdiction))）</a></li>"
        }
        content += "</ul>"
        return Pages.document(l.t("月报", "Monthly report"), l, principal: principal, period: period.label, content: content)
    }

    /// The district table of `energyctl report district`, cell for cell.
    func districtTable(_ report: DistrictReport, _ l: Language) -> String {
        let rows = (report.jurisdictions + [report.total]).map { line -> [String] in
            [
                escape(!l.zh && line.jurisdiction == "全区" ? "district" : !l.zh && line.jurisdiction == "合计" ? "total" : line.jurisdiction),
                String(line.enterprises),
                "\(line.metersOnline)/\(line.meters)",
                line.complianceRate.map { "\(percent($0)) (\(line.benchmarkMet)/\(line.benchmarkJudged))" } ?? "-",
                escape(line.overQuota.isEmpty ? "-" : line.overQuota.joined(separator: "、")),
                escape(line.insufficientData.isEmpty ? "-" : line.insufficientData.joined(separator: "、")),
                escape(line.inspectionList.isEmpty ? "-" : line.inspectionList.joined(separator: "、")),
                String(format: "%.1f", line.comprehensiveTce), line.yearOnYear.map(percent) ?? "-",
            ]
        }
        return Pages.table(
            l.zh
                ? ["镇/园区", "企业", "在线表/总表", "对标达标率", "超限额企业", "数据不足（计入未达标）", "≥1000 tce 名单", "综合能耗 tce", "单耗同比"]
                : [
                    "jurisdiction", "enterprises", "meters online", "compliance", "over quota", "no verdict (counted as not met)",
                    "≥1000 tce list", "tce", "year on year",
                ],
            rows, id: "district", numeric: [1, 3, 7, 8])
    }

    // MARK: Enterprise

    func enterprisePage(
        _ enterprise: EnterpriseConfig, _ request: HTTPRequest, _ principal: Principal, _ l: Language, _ configuration: EnergyConfiguration
    ) async throws -> String {
        let calendar = configuration.calendar
        let period = try await period(request.query, calendar: calendar)
        guard let report = try await enterpriseReport(enterprise.id, configuration, period) else {
            throw WebError.notFound("no enterprise \(enterprise.id)")
        }
        var content =
            "<p>\(escape(enterprise.id))，\(escape(enterprise.jurisdiction))，\(escape(DomainNames.industry(enterprise.industry, zh: l.zh)))</p>"
        content += Pages.periodForm(l, period: period.label, action: "/enterprises/" + enterprise.id)
        content += "<h2>\(l.t("能源消费", "Energy use"))</h2>"
        content += Pages.table(
            [
                l.t("能源品种", "Energy"), l.t("用量", "Amount"), l.t("单位", "Unit"), l.t("折标煤 kgce", "kgce"), l.t("估算", "Estimated"),
                l.t("完整率", "Completeness"),
            ],
            report.energy.map {
                [
                    escape(energyName($0, zh: l.zh)), fixed($0.amount), escape($0.unit), $0.kgce.map(fixed) ?? "-",
                    percent($0.amount > 0 ? $0.estimated / $0.amount : 0), percent($0.completeness),
                ]
            }, id: "energy", numeric: [1, 3, 4, 5])
        content +=
            "<p id=\"comprehensive\">\(l.t("综合能耗", "Comprehensive consumption")) <b>\(fixed(report.comprehensiveKgce))</b> kgce（\(String(format: "%.3f", report.comprehensiveTce)) tce），"
        content +=
            "\(l.t("其中估算", "estimated")) \(fixed(report.estimatedKgce)) kgce，\(l.t("数据完整率", "completeness")) \(percent(report.completeness))</p>"
        if let intensity = report.outputIntensity(zh: l.zh) { content += "<p id=\"output-intensity\">\(escape(intensity))</p>" }
        content += "<h2>\(l.t("单位产品能耗与限额", "Unit consumption against quotas"))</h2>"
        content += Pages.table(
            [
                l.t("产品", "Product"), l.t("标准", "Standard"), l.t("产量", "Output"), l.t("单位产品能耗", "Unit consumption"), l.t("单位", "Unit"),
                l.t("一级/二级/三级", "Levels 1/2/3"), l.t("结论", "Verdict"), l.t("完整率", "Completeness"), l.t("同比", "Year on year"),
            ],
            report.products.map { p in
                [
                    escape(DomainNames.product(p.product, zh: l.zh) + (p.illustrative ? l.t("（示例限额）", " (illustrative quota)") : "")),
                    escape(p.standard),
                    fixed(p.output),
                    p.unitConsumption.map(fixed) ?? "-", escape(p.unit),
                    p.levels.map { String(format: "%g", $0) }.joined(separator: "/"),
                    "<span class=\"\(p.verdict == .overLimit ? "bad" : p.verdict.meets(level: 3) ? "good" : "")\">\(escape(l.zh ? p.verdictChinese : p.verdict.name))</span>",
                    percent(p.completeness), p.yearOnYear.map(percent) ?? "-",
                ]
            }, id: "products", numeric: [2, 3, 7, 8])
        // Charts: kgce per energy by day over the period, by month over the year; unit consumption by month against the levels.
        let dayRange =
            period.toMs - period.fromMs <= 92 * 86_400_000
            ? (period.fromMs, period.toMs) : (calendar.start(of: .month, containing: period.toMs - 1), period.toMs)
        let (days, dayTotals) = try await consumptionReport(enterprise.id, fromMs: dayRange.0, toMs: dayRange.1, by: .day, configuration)
        content += "<h2>\(l.t("逐日折标煤（按能源品种）", "kgce by day and energy type"))</h2>"
        content += Chart.stackedBars(
            categories: dayTotals.map(\.period), series: Self.kgceSeries(days, periods: dayTotals.map(\.period), l), unit: "kgce")
        content += "<h2>\(l.t("逐日数据完整率", "Completeness by day"))</h2>"
        content += Chart.strip(dayTotals.map { ($0.period, $0.completeness) })
        let year = String(period.label.prefix(4))
        if let yearPeriod = ReportPeriod(year, calendar: calendar) {
            let (months, monthTotals) = try await consumptionReport(
                enterprise.id, fromMs: yearPeriod.fromMs, toMs: yearPeriod.toMs, by: .month, configuration)
            content += "<h2>\(l.t("逐月折标煤", "kgce by month")) \(escape(year))</h2>"
            content += Chart.stackedBars(
                categories: monthTotals.map(\.period), series: Self.kgceSeries(months, periods: monthTotals.map(\.period), l), unit: "kgce")
            let unit = try await unitConsumption(enterprise, period: yearPeriod, configuration)
            for product in enterprise.products {
                let values = unit.months.map { month in month.products.first { $0.product == product.product }?.unitConsumption }
                guard let line = unit.months.lazy.compactMap({ $0.products.first { $0.product == product.product } }).first else {
                    continue
                }
                content +=
                    "<h2>\(escape(DomainNames.product(product.product, zh: l.zh))) \(l.t("单位产品能耗", "unit consumption")) (\(escape(line.unit)))</h2>"
                content += Chart.lines(
                    categories: unit.months.map(\.period), series: [(DomainNames.product(product.product, zh: l.zh), values)],
                    references: line.levels.enumerated().map { (l.t("\($0.offset + 1)级", "level \($0.offset + 1)"), $0.element) },
                    unit: line.unit)
            }
        }
        content += "<h2>\(l.t("计量器具", "Meters"))</h2>"
        let meters = try await meterStates(enterprise, configuration)
        content += Pages.table(
            [l.t("计量器具", "Meter"), l.t("能源", "Energy"), l.t("网关", "Gateway"), l.t("状态", "State"), l.t("测点", "Points")],
            meters.map { m in
                [
                    "<a href=\"/meters/\(escape(m.id))\">\(escape(m.id))</a>", escape(DomainNames.energy(m.energy, zh: l.zh)),
                    escape("\(m.gateway) \(m.meterAddress ?? "#\(m.unitID)")"),
                    m.online ? "<span class=\"good\">\(l.t("在线", "online"))</span>" : "<span class=\"bad\">\(l.t("离线", "offline"))</span>",
                    m.points.map {
                        escape(
                            "\($0.point) \($0.lastValue.map(Format.number) ?? "-") \($0.unit) [\($0.quality ?? "-")] \($0.lastTime ?? "")")
                    }.joined(separator: "<br>"),
                ]
            }, id: "meters")
        content += "<h2>\(l.t("未解除告警", "Open alerts"))</h2>"
        content +=
            report.openAlerts.isEmpty
            ? "<p>-</p>"
            : "<ul>"
                + report.openAlerts.map { "<li>[\(escape(l.zh ? $0.kind.chinese : $0.kind.rawValue))] \(escape($0.message))</li>" }.joined()
                + "</ul>"
        content += try await productionSection(enterprise, period, principal, l, configuration)
        content += try await entriesSection(enterprise, period, principal, l, configuration)
        return Pages.document(report.name, l, principal: principal, period: period.label, content: content)
    }

    /// kgce per energy type, one value per period label.
    static func kgceSeries(_ lines: [ConsumptionLine], periods: [String], _ l: Language) -> [(name: String, values: [Double])] {
        let index = Dictionary(uniqueKeysWithValues: periods.enumerated().map { ($0.element, $0.offset) })
        var series: [String: [Double]] = [:]
        var order: [String] = []
        for line in lines where line.kgce != nil && line.quantity == "consumption" {
            let name = energyName(line, zh: l.zh)
            if series[name] == nil {
                series[name] = Array(repeating: 0, count: periods.count)
                order.append(name)
            }
            if let i = index[line.period] { series[name]![i] += line.kgce ?? 0 }
        }
        return order.map { ($0, series[$0]!) }
    }

    func productionSection(
        _ enterprise: EnterpriseConfig, _ period: ReportPeriod, _ principal: Principal, _ l: Language, _ configuration: EnergyConfiguration
    ) async throws -> String {
        let zone = configuration.calendar.timeZone
        let entries = try await store.production.entries(enterprise: enterprise.id, fromMs: period.fromMs, toMs: period.toMs)
        var content = "<h2 id=\"production\">\(l.t("手工录入产量", "Production entered by hand"))</h2>"
        content += Pages.table(
            [l.t("日期", "Date"), l.t("产品", "Product"), l.t("产量", "Quantity"), l.t("录入人", "Entered by"), l.t("录入时间", "Entered at")],
            entries.map {
                [
                    configuration.calendar.dayLabel($0.dayMs),
                    escape(DomainNames.product($0.product, zh: l.zh)),
                    fixed($0.quantity),
                    escape($0.source),
                    $0.enteredMs.map { ISO8601Time.formatLocal(ms: $0, timeZone: zone) } ?? "-",
                ]
            }, id: "production-entries", numeric: [2])
        if principal.entersFigures(of: enterprise) {
            content += """
                <form method="post" action="/enterprises/\(escape(enterprise.id))/production" class="filters" id="production-form">
                <input type="hidden" name="csrf" value="\(escape(principal.csrf ?? ""))">
                <label>\(l.t("产品", "Product")) <select name="product">\(enterprise.products.map { "<option value=\"\(escape($0.product))\">\(escape(DomainNames.product($0.product, zh: l.zh)))</option>" }.joined())</select></label>
                <label>\(l.t("日期", "Date")) <input name="date" placeholder="YYYY-MM-DD" required></label>
                <label>\(l.t("产量", "Quantity")) <input name="quantity" required></label>
                <button>\(l.t("录入", "Enter"))</button></form>
                """
        }
        return content
    }

    /// Energy not metered online, entered by hand for the period's months, and the form an enterprise enters it with.
    func entriesSection(
        _ enterprise: EnterpriseConfig, _ period: ReportPeriod, _ principal: Principal, _ l: Language, _ configuration: EnergyConfiguration
    ) async throws -> String {
        let zone = configuration.calendar.timeZone
        // The months the period lies in (a day's page shows its month's entries).
        let firstMonth = configuration.calendar.start(of: .month, containing: period.fromMs)
        let entries = try await store.entries.list(enterprise: enterprise.id, fromMs: firstMonth, toMs: period.toMs)
        var content = "<h2 id=\"entries\">\(l.t("手工填报能源", "Energy entered by hand"))</h2>"
        func amount(_ value: Double?) -> String { value.map(fixed) ?? "-" }
        content += Pages.table(
            [
                l.t("月份", "Month"), l.t("能源品种", "Energy"), l.t("单位", "Unit"), l.t("购入量", "Purchases"), l.t("期初库存", "Opening stock"),
                l.t("期末库存", "Closing stock"), l.t("消费量", "Consumption"), l.t("填报人", "Entered by"), l.t("填报时间", "Entered at"),
            ],
            entries.map {
                [
                    String(configuration.calendar.dayLabel($0.monthStartMs).prefix(7)),
                    escape(l.zh ? $0.energy.chineseName : $0.energy.rawValue),
                    escape($0.unit), amount($0.purchases), amount($0.openingStock), amount($0.closingStock), fixed($0.consumption),
                    escape($0.source), ISO8601Time.formatLocal(ms: $0.enteredMs, timeZone: zone),
                ]
            }, id: "energy-entries", numeric: [3, 4, 5, 6])
        if principal.entersFigures(of: enterprise) {
            let energies = EnergyType.allCases.filter { $0 != .production }.map {
                "<option value=\"\($0.rawValue)\">\(escape(l.zh ? $0.chineseName : $0.rawValue))</option>"
            }
            content += """
                <form method="post" action="/enterprises/\(escape(enterprise.id))/entries" class="filters" id="entry-form">
                <input type="hidden" name="csrf" value="\(escape(principal.csrf ?? ""))">
                <label>\(l.t("月份", "Month")) <input name="month" placeholder="YYYY-MM" required></label>
                <label>\(l.t("能源品种", "Energy")) <select name="energy">\(energies.joined())</select></label>
                <label>\(l.t("单位", "Unit")) <input name="unit" placeholder="t" required></label>
                <label>\(l.t("消费量", "Consumption")) <input name="consumption"></label>
                <label>\(l.t("或 购入量", "or purchases")) <input name="purchases"></label>
                <label>\(l.t("期初库存", "Opening stock")) <input name="openingStock"></label>
                <label>\(l.t("期末库存", "Closing stock")) <input name="closingStock"></label>
                <button>\(l.t("填报", "Enter"))</button></form>
                """
        }
        let values = try await store.outputValues.list(enterprise: enterprise.id, fromMs: firstMonth, toMs: period.toMs)
        content += "<h2 id=\"output-values\">\(l.t("产值填报", "Output value entered"))</h2>"
        content += Pages.table(
            [
                l.t("月份", "Month"), l.t("工业总产值（万元）", "Gross output (10 000 yuan)"), l.t("工业增加值（万元）", "Value added (10 000 yuan)"),
                l.t("填报人", "Entered by"), l.t("填报时间", "Entered at"),
            ],
            values.map {
                [
                    String(configuration.calendar.dayLabel($0.monthStartMs).prefix(7)), fixed($0.grossOutput), amount($0.valueAdded),
                    escape($0.source), ISO8601Time.formatLocal(ms: $0.enteredMs, timeZone: zone),
                ]
            }, id: "output-value-entries", numeric: [1, 2])
        if principal.entersFigures(of: enterprise) {
            content += """
                <form method="post" action="/enterprises/\(escape(enterprise.id))/output-value" class="filters" id="output-value-form">
                <input type="hidden" name="csrf" value="\(escape(principal.csrf ?? ""))">
                <label>\(l.t("月份", "Month")) <input name="month" placeholder="YYYY-MM" required></label>
                <label>\(l.t("工业总产值（万元）", "Gross output (10 000 yuan)")) <input name="grossOutput" required></label>
                <label>\(l.t("工业增加值（万元）", "Value added (10 000 yuan)")) <input name="valueAdded"></label>
                <button>\(l.t("填报", "Enter"))</button></form>
                """
        }
        return content
    }

    // MARK: Meter

    func meterPage(
        _ enterprise: EnterpriseConfig, _ meter: MeterConfig, _ request: HTTPRequest, _ principal: Principal, _ l: Language,
        _ configuration: EnergyConfiguration
    ) async throws -> String {
        let readings = try await meterReadings(meter, request, configuration)
        let zone = configuration.calendar.timeZone
        func time(_ ms: Int64) -> String { ISO8601Time.formatLocal(ms: ms, timeZone: zone) }
        var content =
            "<p><a href=\"/enterprises/\(escape(enterprise.id))\">\(escape(enterprise.name))</a> · \(escape(meter.energy.rawValue)) · \(escape(meter.gateway)) \(escape(meter.lineAddress)) · \(escape(meter.model))</p>"
        content += Pages.periodForm(l, period: request.query["period"] ?? "", action: "/meters/" + meter.id)
        content += "<p>\(time(readings.fromMs)) – \(time(readings.toMs))</p>"
        for (record, samples) in readings.points {
            let good = samples.compactMap { s in s.quality == .good ? s.value.map { (ms: s.timestampMs, value: $0) } : nil }
            // Failed readings in red, counter events (rollover, reset, spike …) in violet, under the trend.
            var marks = samples.filter { $0.quality != .good }.map {
                (ms: $0.timestampMs, label: "\(time($0.timestampMs)) \($0.quality)", colour: "#c2413b")
            }
            marks += readings.events.filter { $0.series.id == record.id }.map {
                (
                    ms: $0.event.timestampMs, label: "\(time($0.event.timestampMs)) \($0.event.kind.rawValue): \($0.event.detail)",
                    colour: "#8a63b8"
                )
            }
            content += "<h2>\(escape(record.point)) (\(escape(record.unit)))</h2>"
            content += Chart.trend(fromMs: readings.fromMs, toMs: readings.toMs, points: good, marks: marks, unit: record.unit) {
                String(time($0).dropFirst(5).prefix(11))
            }
            let failed = samples.count - good.count
            content +=
                "<p>\(l.t("读数", "Readings")) \(samples.count)，\(l.t("失败", "failed")) <span class=\"\(failed > 0 ? "bad" : "")\">\(failed)</span></p>"
        }
        content += "<h2>\(l.t("计数器事件", "Counter events"))</h2>"
        content += Pages.table(
            [l.t("时间", "Time"), l.t("测点", "Point"), l.t("事件", "Event"), l.t("说明", "Detail")],
            readings.events.map {
                [escape(time($0.event.timestampMs)), escape($0.series.point), escape($0.event.kind.rawValue), escape($0.event.detail)]
            }, id: "events")
        return Pages.document(l.t("计量器具 ", "Meter ") + meter.id, l, principal: principal, content: content)
    }

    // MARK: Alerts and administration

    func alertsPage(_ request: HTTPRequest, _ principal: Principal, _ l: Language, _ configuration: EnergyConfiguration) async throws
        -> String
    {
        let scoped = principal.scoped(configuration)
        let list = try await alerts(request.query, scoped, me: principal.account.name)
        let query = request.query
        func select(_ name: String, _ options: [(String, String)]) -> String {
            "<select name=\"\(name)\"><option value=\"\">\(l.t("全部", "all"))</option>"
                + options.map { "<option value=\"\(escape($0.0))\"\(query[name] == $0.0 ? " selected" : "")>\(escape($0.1))</option>" }
                .joined() + "</select>"
        }
        var content = "<form method=\"get\" action=\"/alerts\" class=\"filters\">"
        content +=
            "<label>\(l.t("状态", "State")) " + select("state", [("open", l.t("未解除", "open")), ("cleared", l.t("已解除", "cleared"))])
            + "</label> "
        content +=
            "<label>\(l.t("镇/园区", "Town/park")) "
            + select("jurisdiction", Set(scoped.enterprises.map(\.jurisdiction)).sorted().map { ($0, $0) }) + "</label> "
        content += "<label>\(l.t("企业", "Enterprise")) " + select("enterprise", scoped.enterprises.map { ($0.id, $0.name) }) + "</label> "
        content +=
            "<label>\(l.t("类型", "Kind")) " + select("kind", AlertKind.allCases.map { ($0.rawValue, l.zh ? $0.chinese : $0.rawValue) })
            + "</label> "
        content +=
            "<label>\(l.t("级别", "Level")) "
            + select("level", AlertSeverity.allCases.map { ($0.rawValue, l.zh ? $0.chinese : $0.rawValue) })
            + "</label> "
        content +=
            "<label>\(l.t("处置", "Handling")) "
            + select("handling", AlertHandling.allCases.map { ($0.rawValue, l.zh ? $0.chinese : $0.rawValue) }) + "</label> "
        content +=
            "<label>\(l.t("承办人", "Assignee")) " + select("assignee", [("me", l.t("我的", "mine")), ("none", l.t("未指派", "unassigned"))])
            + "</label> "
        content +=
            "<label>\(l.t("期间", "Period")) <input name=\"period\" value=\"\(escape(query["period"] ?? ""))\"></label> <button>\(l.t("筛选", "Filter"))</button></form>"
        content += "<p>\(list.count) \(l.t("条", "alerts"))</p>"
        content += Pages.table(
            [
                l.t("状态", "State"), l.t("产生", "Raised"), l.t("解除", "Cleared"), l.t("级别", "Level"), l.t("类型", "Kind"),
                l.t("企业", "Enterprise"), l.t("内容", "Message"), l.t("依据", "Evidence"), l.t("处置", "Handling"),
            ],
            list.map { a in
                let r = a.record
                let evidence =
                    [
                        r.standard.map { "\(l.t("标准", "standard")) \($0)" },
                        r.measured.map { "\(l.t("实测", "measured")) \(Format.number($0))" },
                        r.limit.map { "\(l.t("限值", "limit")) \(Format.number($0))" },
                        r.completeness.map { "\(l.t("完整率", "completeness")) \(percent($0))" },
                    ]
                    .compactMap { $0 } + r.evidence.keys.sorted().map { "\($0): \(Self.evidenceText(r.evidence[$0]!))" }
                return [
                    a.state == "open" ? "<span class=\"bad\">\(l.t("未解除", "open"))</span>" : l.t("已解除", "cleared"), escape(a.raisedAt),
                    escape(a.clearedAt ?? "-"),
                    escape(l.zh ? r.severity.chinese : r.severity.rawValue), escape(l.zh ? r.kind.chinese : r.kind.rawValue),
                    "<a href=\"/enterprises/\(escape(r.enterprise.id))\">\(escape(r.enterprise.name))</a>", escape(r.message),
                    "<details><summary>\(l.t("查看", "show"))</summary>\(evidence.map(escape).joined(separator: "<br>"))</details>",
                    "<a href=\"/alerts/\(a.id)\">\(escape(l.zh ? a.handling.chinese : a.handling.rawValue))</a>"
                        + (a.assignee.map { " · \(escape($0))" } ?? ""),
                ]
            }, id: "alerts")
        return Pages.document(l.t("告警", "Alerts"), l, principal: principal, content: content)
    }

    /// One alert: its record, what was done about it, and the forms for what the account may do next.
    func alertPage(_ id: String, _ principal: Principal, _ l: Language, _ configuration: EnergyConfiguration) async throws -> String {
        let alert = try await self.alert(id, for: principal, in: configuration)
        let zone = configuration.calendar.timeZone
        let view = AlertView(alert, timeZone: zone)
        let r = alert.raised
        var content =
            "<p><a href=\"/enterprises/\(escape(r.enterprise.id))\">\(escape(r.enterprise.name))</a> · \(escape(r.enterprise.jurisdiction))"
        content += " · \(escape(l.zh ? r.kind.chinese : r.kind.rawValue)) · \(escape(l.zh ? r.severity.chinese : r.severity.rawValue))</p>"
        content += "<p>\(escape(r.message))</p>"
        content += "<p id=\"handling\">\(l.t("处置", "Handling")) <b>\(escape(l.zh ? alert.handling.chinese : alert.handling.rawValue))</b>"
        content += alert.assignee.map { "，\(l.t("承办人", "assignee")) \(escape($0))" } ?? ""
        content += alert.disposition.map { "，\(l.t("处置结果", "disposition")) \(escape($0))" } ?? ""
        content +=
            "；\(l.t("产生", "raised")) \(escape(view.raisedAt))\(view.clearedAt.map { "，\(l.t("解除", "cleared")) \(escape($0))" } ?? "")</p>"
        content += "<h2>\(l.t("处置记录", "History"))</h2>"
        content += Pages.table(
            [l.t("时间", "Time"), l.t("操作", "Action"), l.t("账号", "Account"), l.t("说明", "Text")],
            try await history(of: alert, timeZone: zone).map {
                [
                    escape($0.at), escape(l.zh ? $0.action.chinese : $0.action.rawValue), escape($0.account),
                    escape($0.text) + ($0.assignee.map { " → \(escape($0))" } ?? ""),
                ]
            }, id: "alert-history")
        // The actions the account's role may take; the rules decide again when the form is sent.
        let allowed = AlertAction.allCases.filter {
            (try? $0.applied(by: principal.role, to: alert.handling, text: "-", assignee: "-")) != nil
                && ($0 != .answer || principal.account.scope.contains(r.enterprise.id))
        }
        if !allowed.isEmpty {
            let options = allowed.map { "<option value=\"\($0.rawValue)\">\(escape(l.zh ? $0.chinese : $0.rawValue))</option>" }.joined()
            content += """
                <form method="post" action="/alerts/\(alert.id)/actions" class="filters" id="alert-action">
                <input type="hidden" name="csrf" value="\(escape(principal.csrf ?? ""))">
                <label>\(l.t("操作", "Action")) <select name="action">\(options)</select></label>
                <label>\(l.t("承办人", "Assignee")) <input name="assignee"></label>
                <label>\(l.t("说明", "Text")) <input name="text" size="60"></label>
                <button>\(l.t("提交", "Submit"))</button></form>
                """
        }
        return Pages.document(l.t("告警", "Alert") + " \(alert.id)", l, principal: principal, content: content)
    }

    /// An action sent with the alert page's form.
    func alertActionForm(_ call: Call, _ principal: Principal) async throws -> HTTPAnswer {
        let alert = try await self.alert(call.id, for: principal, in: configuration())
        let form = call.request.form
        let input = AlertActionInput(
            action: form["action"] ?? "", text: form["text"], assignee: (form["assignee"] ?? "").isEmpty ? nil : form["assignee"])
        _ = try await act(on: alert, input, by: principal, request: call.request)
        return .seeOther("/alerts/\(alert.id)")
    }

    static func evidenceText(_ value: EvidenceValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "-"
    }

    func adminPage(_ principal: Principal, _ l: Language) async throws -> String {
        let zone = configuration().calendar.timeZone
        var content =
            "<h2>\(l.t("账号", "Accounts"))</h2><p>\(l.t("用 energyctl user add|passwd|disable|token 管理账号。", "Manage accounts with energyctl user add|passwd|disable|token."))</p>"
        content += Pages.table(
            [l.t("账号", "Account"), l.t("角色", "Role"), l.t("范围", "Scope"), l.t("状态", "State")],
            try await store.accounts.all().map { a in
                [
                    escape(a.name), escape(Pages.roleName(a.role, l)),
                    escape(a.scope.joined(separator: "、")),
                    a.disabled ? l.t("已停用", "disabled") : l.t("启用", "enabled"),
                ]
            }, id: "accounts")
        content += "<h2>\(l.t("审计日志", "Audit log"))</h2>"
        content += Pages.table(
            [l.t("时间", "Time"), l.t("账号", "Account"), l.t("操作", "Action"), l.t("内容", "Detail"), l.t("地址", "Address")],
            try await store.accounts.auditLog().map {
                [
                    escape(ISO8601Time.formatLocal(ms: $0.atMs, timeZone: zone)), escape($0.account), escape($0.action), escape($0.detail),
                    escape($0.remote),
                ]
            },
            id: "audit")
        return Pages.document(l.t("账号与审计", "Accounts and audit"), l, principal: principal, content: content)
    }
}
