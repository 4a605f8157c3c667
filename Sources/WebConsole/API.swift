import Accounts
import EnergyModel
import EnergyReports
import EnergyStore
import Foundation
import NIOHTTP1

/// The state of one meter: its points' newest readings and whether it answers.
struct MeterState: Sendable, Codable {
    struct Point: Sendable, Codable {
        var point: String
        var quantity: String
        var unit: String
        var lastTime: String?
        var lastValue: Double?
        var quality: String?
        var lastGoodTime: String?
        var lastGoodValue: Double?
    }
    var id: String
    var enterprise: String
    var gateway: String
    var unitID: Int
    var meterAddress: String?
    var model: String
    var energy: String
    var product: String?
    var intervalSeconds: Int
    /// A good reading within `offline_after_s` of the newest reading stored.
    var online: Bool
    var points: [Point]
}

/// An alert with its lifecycle.
struct AlertView: Sendable, Codable {
    var id: Int64
    var state: String
    var raisedAt: String
    var clearedAt: String?
    var record: AlertRecord
    /// The inspection team's handling (new, acknowledged, assigned, closed), its assignee and disposition.
    var handling: AlertHandling
    var assignee: String?
    var disposition: String?

    init(_ alert: StoredAlert, timeZone zone: TimeZone) {
        id = alert.id
        state = alert.clearedAtMs == nil ? "open" : "cleared"
        raisedAt = ISO8601Time.formatLocal(ms: alert.raisedAtMs, timeZone: zone)
        clearedAt = alert.clearedAtMs.map { ISO8601Time.formatLocal(ms: $0, timeZone: zone) }
        record = alert.raised
        handling = alert.handling
        assignee = alert.assignee
        disposition = alert.disposition
    }
}

/// A line of an alert's handling history, as the API shows it.
struct AlertActionView: Sendable, Codable {
    var action: AlertAction
    var account: String
    var assignee: String?
    var text: String
    var at: String
}

/// A line of the meter ledger as the API shows it.
struct LedgerView: Codable {
    var meter, maker, model, accuracyClass: String
    var ctRatio, ptRatio: Double?
    var installed: String
    var lastCalibrated: String?
    var nextDue, certificate, status: String

    init(_ entry: LedgerEntry) {
        (meter, maker, model, accuracyClass) = (entry.meter, entry.maker, entry.model, entry.accuracyClass)
        (ctRatio, ptRatio, installed, lastCalibrated) = (entry.ctRatio, entry.ptRatio, entry.installed, entry.lastCalibrated)
        (nextDue, certificate, status) = (entry.nextDue, entry.certificate, entry.status.rawValue)
    }
}

/// An alert with what was done about it.
struct AlertDetail: Codable {
    var alert: AlertView
    var actions: [AlertActionView]
}

/// An action on an alert, as the API takes it.
struct AlertActionInput: Codable {
    var action: String
    var text: String?
    var assignee: String?
}

/// The JSON API, /api/v1/… (documented in openapi.yaml).
extension WebConsole {
    /// The API's routes, /api/v1/… (a part of `routes`).
    static let apiRoutes: [Route] =
        [
            Route(
                .GET, "api/v1/me",
                .signedIn { _, _, principal in
                    json(
                        Me(
                            account: principal.account.name, role: principal.role.rawValue, scope: principal.account.scope,
                            csrf: principal.csrf)
                    )
                }),
            Route(
                .GET, "api/v1/district",
                .signedIn { console, call, principal in
                    let configuration = console.configuration()
                    let period = try await console.period(call.request.query, calendar: configuration.calendar)
                    return json(try await console.districtReport(principal, configuration, period))
                }),
            Route(
                .GET, "api/v1/enterprises",
                .signedIn { console, _, principal in
                    json(["enterprises": principal.scoped(console.configuration()).enterprises.map(EnterpriseSummary.init)])
                }),
            Route(
                .GET, "api/v1/enterprises/*",
                .signedIn { console, call, principal in
                    let configuration = console.configuration()
                    _ = try console.enterprise(call.id, for: principal, in: configuration)
                    let period = try await console.period(call.request.query, calendar: configuration.calendar)
                    return json(try await console.enterpriseReport(call.id, configuration, period))
                }),
            Route(
                .GET, "api/v1/enterprises/*/consumption",
                .signedIn { console, call, principal in
                    let configuration = console.configuration()
                    _ = try console.enterprise(call.id, for: principal, in: configuration)
                    return json(try await console.consumption(call.id, call.request, configuration))
                }),
            Route(
                .GET, "api/v1/enterprises/*/unit-consumption",
                .signedIn { console, call, principal in
                    let configuration = console.configuration()
                    let enterprise = try console.enterprise(call.id, for: principal, in: configuration)
                    let period = try await console.period(call.request.query, calendar: configuration.calendar)
                    return json(try await console.unitConsumption(enterprise, period: period, configuration))
                }),
            Route(
                .GET, "api/v1/enterprises/*/meters",
                .signedIn { console, call, principal in
                    let configuration = console.configuration()
                    let enterprise = try console.enterprise(call.id, for: principal, in: configuration)
                    return json(["meters": try await console.meterStates(enterprise, configuration)])
                }),
        ]
        + enteredFigureRoutes(
            "production", key: "entries", usage: #"send JSON {"product": …, "date": "YYYY-MM-DD", "quantity": …}"#,
            list: { console, enterprise, period, _ in
                try await console.store.production.entries(enterprise: enterprise.id, fromMs: period.fromMs, toMs: period.toMs)
            },
            enter: { console, input, enterprise, principal, request, configuration in
                try await console.enterProduction(input as ProductionInput, of: enterprise, by: principal, request: request, configuration)
            })
        + enteredFigureRoutes(
            "entries", key: "entries",
            usage: #"send JSON {"month": "YYYY-MM", "energy": …, "unit": …, "consumption": …} or purchases, "#
                + "openingStock and closingStock instead of consumption",
            list: { console, enterprise, period, configuration in
                try await console.store.entries.list(enterprise: enterprise.id, fromMs: period.fromMs, toMs: period.toMs)
                    .map { EnergyEntryView($0, calendar: configuration.calendar) }
            },
            enter: { console, input, enterprise, principal, request, configuration in
                try await console.enterEnergy(input as EnergyEntryInput, of: enterprise, by: principal, request: request, configuration)
            })
        + enteredFigureRoutes(
            "output-value", key: "values", usage: #"send JSON {"month": "YYYY-MM", "grossOutput": …, "valueAdded": …} (万元)"#,
            list: { console, enterprise, period, configuration in
                try await console.store.outputValues.list(enterprise: enterprise.id, fromMs: period.fromMs, toMs: period.toMs)
                    .map { OutputValueView($0, calendar: configuration.calendar) }
            },
            enter: { console, input, enterprise, principal, request, configuration in
                try await console.enterOutputValue(
                    input as OutputValueInput, of: enterprise, by: principal, request: request, configuration)
            })
        + [
            Route(
                .GET, "api/v1/meters/*/samples",
                .signedIn { console, call, principal in
                    let configuration = console.configuration()
                    let (_, meter) = try console.meter(call.id, for: principal, in: configuration)
                    return json(try await console.meterSamples(meter, call.request, configuration))
                }),
            Route(
                .GET, "api/v1/alerts/*",
                .signedIn { console, call, principal in
                    let configuration = console.configuration()
                    let alert = try await console.alert(call.id, for: principal, in: configuration)
                    let zone = configuration.calendar.timeZone
                    return json(
                        AlertDetail(alert: AlertView(alert, timeZone: zone), actions: try await console.history(of: alert, timeZone: zone)))
                }),
            Route(
                .POST, "api/v1/alerts/*/actions",
                .signedIn { console, call, principal in
                    let configuration = console.configuration()
                    let alert = try await console.alert(call.id, for: principal, in: configuration)
                    guard let input = try? JSONDecoder().decode(AlertActionInput.self, from: Data(call.request.body)) else {
                        throw WebError.badRequest(
                            "send JSON {\"action\": \"acknowledge|assign|comment|answer|close\", \"text\": …, \"assignee\": …}")
                    }
                    let acted = try await console.act(on: alert, input, by: principal, request: call.request)
                    return json(["alert": AlertView(acted, timeZone: configuration.calendar.timeZone)])
                }),
            Route(
                .GET, "api/v1/alerts",
                .signedIn { console, call, principal in
                    json([
                        "alerts": try await console.alerts(
                            call.request.query, principal.scoped(console.configuration()), me: principal.account.name)
                    ])
                }),
            Route(
                .GET, "api/v1/audit",
                .signedIn { console, _, principal in
                    guard principal.role == .admin else { throw WebError.forbidden }
                    return json(["entries": try await console.store.accounts.auditLog()])
                }),
            Route(
                .GET, "api/v1/accounts",
                .signedIn { console, _, principal in
                    guard principal.role == .admin else { throw WebError.forbidden }
                    return json(["accounts": try await console.store.accounts.all().map(AccountView.init)])
                }),
            Route(
                .GET, "api/v1/ledger",
                .signedIn { console, _, principal in
                    // The meters of the enterprises the account sees.
                    let seen = Set(principal.scoped(console.configuration()).meters.map(\.1.id))
                    return json(["ledger": try await console.store.ledger.list().filter { seen.contains($0.meter) }.map(LedgerView.init)])
                }),
        ]

    // MARK: Queries the pages share

    func consumption(_ id: String, _ request: HTTPRequest, _ configuration: EnergyConfiguration) async throws -> ConsumptionAnswer {
        let period = try await period(request.query, calendar: configuration.calendar)
        let resolution = try Resolution(rawValue: request.query["resolution"] ?? "day")
            .orThrow(WebError.badRequest("resolution is 15min, hour, day or month"))
        switch resolution {
        case .day, .month:
            let (lines, totals) = try await consumptionReport(id, fromMs: period.fromMs, toMs: period.toMs, by: resolution, configuration)
            return ConsumptionAnswer(period: period.label, resolution: resolution.rawValue, lines: lines, totals: totals, buckets: nil)
        case .quarter, .hour:
            guard period.toMs - period.fromMs <= 31 * 86_400_000 else {
                throw WebError.badRequest("15min and hour buckets are served for at most 31 days at a time")
            }
            let zone = configuration.calendar.timeZone
            let rows = try await store.rollups(enterprise: id, resolution: resolution, fromMs: period.fromMs, toMs: period.toMs)
            let buckets = rows.map {
                Bucket(
                    meter: $0.series.meter, point: $0.series.point, energy: $0.series.energy.rawValue,
                    quantity: $0.series.quantity.rawValue,
                    unit: $0.series.unit, start: ISO8601Time.formatLocal(ms: $0.bucketMs, timeZone: zone), amount: $0.amount.units,
                    estimated: $0.estimated.units, goodSamples: $0.good)
            }
            return ConsumptionAnswer(period: period.label, resolution: resolution.rawValue, lines: nil, totals: nil, buckets: buckets)
        }
    }

    /// Each product's unit consumption month by month over `period`, against its quota's levels.
    func unitConsumption(_ enterprise: EnterpriseConfig, period: ReportPeriod, _ configuration: EnergyConfiguration) async throws
        -> UnitConsumptionAnswer
    {
        let calendar = configuration.calendar
        var months: [UnitConsumptionAnswer.Month] = []
        var start = calendar.start(of: .month, containing: period.fromMs)
        while start < period.toMs {
            let label = String(ISO8601Time.formatLocal(ms: start, timeZone: calendar.timeZone).prefix(7))
            if let month = ReportPeriod(label, calendar: calendar),
                let report = try await enterpriseReport(enterprise.id, configuration, month)
            {
                months.append(.init(period: label, products: report.products))
            }
            start = calendar.next(.month, after: start)
        }
        return UnitConsumptionAnswer(enterprise: enterprise.id, period: period.label, months: months)
    }

    func meterStates(_ enterprise: EnterpriseConfig, _ configuration: EnergyConfiguration) async throws -> [MeterState] {
        let series = try await store.series(enterprise: enterprise.id)
        let latest = try await store.latestSamples(seriesIDs: series.map(\.id))
        let newest = try await newestSampleMs() ?? 0
        let offlineMs = Int64(configuration.daemon.offlineAfterSeconds) * 1000
        let zone = configuration.calendar.timeZone
        func time(_ ms: Int64?) -> String? { ms.map { ISO8601Time.formatLocal(ms: $0, timeZone: zone) } }
        return enterprise.meters.map { meter in
            let points = series.filter { $0.meter == meter.id }.map { record in
                let readings = latest[record.id]
                return MeterState.Point(
                    point: record.point, quantity: record.quantity.rawValue, unit: record.unit,
                    lastTime: time(readings?.latest.timestampMs),
                    lastValue: readings?.latest.value, quality: readings.map { "\($0.latest.quality)" },
                    lastGoodTime: time(readings?.lastGood?.timestampMs), lastGoodValue: readings?.lastGood?.value)
            }
            let lastGood = series.filter { $0.meter == meter.id }.compactMap { latest[$0.id]?.lastGood?.timestampMs }.max()
            return MeterState(
                id: meter.id, enterprise: enterprise.id, gateway: meter.gateway, unitID: meter.unitID, meterAddress: meter.meterAddress,
                model: meter.model,
                energy: meter.energy.rawValue, product: meter.product, intervalSeconds: meter.intervalSeconds,
                online: lastGood.map { $0 >= newest - offlineMs } ?? false, points: points)
        }
    }

    /// A meter's raw samples and counter events over the period asked for (the last day of data by default).
    func meterReadings(_ meter: MeterConfig, _ request: HTTPRequest, _ configuration: EnergyConfiguration) async throws -> MeterReadings {
        let range: (from: Int64, to: Int64)
        if request.query["period"] != nil {
            let period = try await period(request.query, calendar: configuration.calendar)
            range = (period.fromMs, period.toMs)
        } else {
            // The last day, or the last 2880 readings of a meter polled more often than every 30 s (a day of
            // 1-second readings is 86 400 a point: more than a trend can show or a page should carry).
            let newest = try await newestSampleMs() ?? nowMs()
            range = (newest - min(86_400_000, 2880 * Int64(meter.intervalSeconds) * 1000), newest + 1)
        }
        guard range.to - range.from <= 31 * 86_400_000 else {
            throw WebError.badRequest("samples are served for at most 31 days at a time")
        }
        let series = try await store.series(meter: meter.id)
        var points: [(record: SeriesRecord, samples: [Sample])] = []
        for record in series {
            points.append((record, try await store.samples(seriesID: record.id, fromMs: range.from, toMs: range.to)))
        }
        let ids = Set(series.map(\.id))
        let events = try await store.counterEvents(fromMs: range.from, toMs: range.to).filter { ids.contains($0.series.id) }
        return MeterReadings(fromMs: range.from, toMs: range.to, points: points, events: events)
    }

    func meterSamples(_ meter: MeterConfig, _ request: HTTPRequest, _ configuration: EnergyConfiguration) async throws -> MeterSamplesAnswer
    {
        let readings = try await meterReadings(meter, request, configuration)
        let zone = configuration.calendar.timeZone
        func time(_ ms: Int64) -> String { ISO8601Time.formatLocal(ms: ms, timeZone: zone) }
        return MeterSamplesAnswer(
            meter: meter.id, from: time(readings.fromMs), to: time(readings.toMs),
            points: readings.points.map { point in
                .init(
                    point: point.record.point, unit: point.record.unit, kind: point.record.kind.rawValue,
                    samples: point.samples.map { .init(t: time($0.timestampMs), v: $0.value, q: "\($0.quality)") })
            },
            events: readings.events.map {
                .init(t: time($0.event.timestampMs), point: $0.series.point, kind: $0.event.kind.rawValue, detail: $0.event.detail)
            })
    }

    /// Alerts of the enterprises `scoped` holds, filtered by the query's state, jurisdiction, enterprise, kind, level and period.
    /// `assignee=me` means the account `me`, `assignee=none` the unassigned ones; `handling` is new, acknowledged,
    /// assigned or closed.
    func alerts(_ query: [String: String], _ scoped: EnergyConfiguration, me: String? = nil) async throws -> [AlertView] {
        let visible = Set(scoped.enterprises.map(\.id))
        guard (query["handling"] ?? "").isEmpty || AlertHandling(rawValue: query["handling"] ?? "") != nil else {
            throw WebError.badRequest("handling is new, acknowledged, assigned or closed")
        }
        let assignee = query["assignee"].flatMap { $0.isEmpty ? nil : $0 == "me" ? me ?? "" : $0 }
        guard ["open", "cleared", "all"].contains(query["state"] ?? "all") else {
            throw WebError.badRequest("state is open, cleared or all")
        }
        guard (query["level"] ?? "").isEmpty || AlertSeverity(rawValue: query["level"] ?? "") != nil else {
            throw WebError.badRequest("level is critical, warning or notice")
        }
        let openOnly = (query["state"] ?? "all") == "open"
        var range: (from: Int64, to: Int64) = (.min, .max)
        if query["period"] != nil {
            let period = try await period(query, calendar: scoped.calendar)
            range = (period.fromMs, period.toMs)
        }
        let zone = scoped.calendar.timeZone
        return try await store.alerts.list(openOnly: openOnly, sinceMs: range.from).filter { alert in
            let record = alert.raised
            return visible.contains(record.enterprise.id) && alert.raisedAtMs < range.to
                && (query["jurisdiction"].map { $0.isEmpty || $0 == record.enterprise.jurisdiction } ?? true)
                && (query["enterprise"].map { $0.isEmpty || $0 == record.enterprise.id } ?? true)
                && (query["kind"].map { $0.isEmpty || $0 == record.kind.rawValue } ?? true)
                && (query["level"].map { $0.isEmpty || $0 == record.severity.rawValue } ?? true)
                && (query["state"] != "cleared" || alert.clearedAtMs != nil)
        }.filter { alert in
            (query["handling"].map { $0.isEmpty || $0 == alert.handling.rawValue } ?? true)
                && (assignee.map { $0 == "none" ? alert.assignee == nil : alert.assignee == $0 } ?? true)
        }.map { AlertView($0, timeZone: zone) }
    }

    /// Alert `id` with its handling history, when the account sees its enterprise.
    func alert(_ id: String, for principal: Principal, in configuration: EnergyConfiguration) async throws -> StoredAlert {
        guard let number = Int64(id), let alert = try await store.alerts.withIDs([number]).first,
            let enterprise = configuration.enterprises.first(where: { $0.id == alert.raised.enterprise.id }), principal.sees(enterprise)
        else { throw WebError.notFound("no alert \(id)") }
        return alert
    }

    /// The history of `alert` for the API and the console.
    func history(of alert: StoredAlert, timeZone zone: TimeZone) async throws -> [AlertActionView] {
        try await store.alerts.history(of: alert.id).map {
            AlertActionView(
                action: $0.action, account: $0.account, assignee: $0.assignee, text: $0.text,
                at: ISO8601Time.formatLocal(ms: $0.atMs, timeZone: zone))
        }
    }

    /// Applies an action to an alert the account sees: an assignee must be an enabled inspector or admin account;
    /// the rules are `AlertAction.applied`'s. Audited.
    func act(on alert: StoredAlert, _ input: AlertActionInput, by principal: Principal, request: HTTPRequest) async throws -> StoredAlert {
        guard let action = AlertAction(rawValue: input.action) else {
            throw WebError.badRequest("action is one of \(AlertAction.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if action == .assign, let name = input.assignee, !name.isEmpty {
            guard let account = try await store.accounts.named(name), !account.disabled, [.inspector, .admin].contains(account.role) else {
                throw WebError.badRequest("\(name) is not an inspector's account")
            }
        }
        if action == .answer, principal.role == .enterprise, !principal.account.scope.contains(alert.raised.enterprise.id) {
            throw WebError.forbidden
        }
        let now = nowMs()
        do {
            let acted = try await store.alerts.act(
                action, on: alert.id, by: principal.account.name, role: principal.role, text: input.text ?? "", assignee: input.assignee,
                atMs: now)
            try await store.accounts.audit(
                account: principal.account.name, action: "alert-\(action.rawValue)",
                detail: "alert \(alert.id) \(alert.raised.key)\(input.assignee.map { " → \($0)" } ?? "")", remote: request.remoteAddress,
                atMs: now)
            return acted
        } catch let refusal as AlertAction.Refusal {
            throw refusal.forbidden ? WebError.forbidden : WebError.badRequest(refusal.description)
        }
    }

    /// Records a production figure entered in the console or by a script, with who entered it.
    func enterProduction(
        _ entry: ProductionInput, of enterprise: EnterpriseConfig, by principal: Principal, request: HTTPRequest,
        _ configuration: EnergyConfiguration
    ) async throws -> ProductionEntry {
        guard principal.entersFigures(of: enterprise) else { throw WebError.forbidden }
        let figure: ProductionFigure
        do {
            figure = try ProductionFigure.checked(
                enterprise: enterprise.id, product: entry.product, date: entry.date, quantity: entry.quantity, in: configuration)
        } catch {
            throw WebError.badRequest(error.description)
        }
        let day = figure.dayMs
        let now = nowMs()
        let source = "web:" + principal.account.name
        try await store.production.set(
            enterprise: enterprise.id, product: entry.product, dayMs: day, quantity: entry.quantity, source: source, enteredMs: now)
        dataChanged(fromMs: day)
        try await store.accounts.audit(
            account: principal.account.name, action: "production",
            detail: "\(enterprise.id) \(entry.product) \(entry.date) = \(entry.quantity)", remote: request.remoteAddress, atMs: now)
        return ProductionEntry(product: entry.product, dayMs: day, quantity: entry.quantity, source: source, enteredMs: now)
    }
}

extension WebConsole {
    /// The two routes of a kind of figure an enterprise enters by hand (api/v1/enterprises/ID/`path`): GET lists those
    /// of a period (the account must see the enterprise), POST enters one sent as JSON (`enter` checks who may).
    static func enteredFigureRoutes<Input: Decodable & Sendable, Listed: Encodable & Sendable, Recorded: Encodable & Sendable>(
        _ path: String, key: String, usage: String,
        list: @escaping @Sendable (WebConsole, EnterpriseConfig, ReportPeriod, EnergyConfiguration) async throws -> [Listed],
        enter:
            @escaping @Sendable (WebConsole, Input, EnterpriseConfig, Principal, HTTPRequest, EnergyConfiguration) async throws -> Recorded
    ) -> [Route] {
        [
            Route(
                .GET, "api/v1/enterprises/*/" + path,
                .signedIn { console, call, principal in
                    let configuration = console.configuration()
                    let enterprise = try console.enterprise(call.id, for: principal, in: configuration)
                    let period = try await console.period(call.request.query, calendar: configuration.calendar)
                    return json([key: try await list(console, enterprise, period, configuration)])
                }),
            Route(
                .POST, "api/v1/enterprises/*/" + path,
                .signedIn { console, call, principal in
                    let configuration = console.configuration()
                    let enterprise = try console.enterprise(call.id, for: principal, in: configuration)
                    guard let input = try? JSONDecoder().decode(Input.self, from: Data(call.request.body)) else {
                        throw WebError.badRequest(usage)
                    }
                    return json(["recorded": try await enter(console, input, enterprise, principal, call.request, configuration)])
                }),
        ]
    }

    /// Records a month's output value entered by a script, with who entered it.
    func enterOutputValue(
        _ input: OutputValueInput, of enterprise: EnterpriseConfig, by principal: Principal, request: HTTPRequest,
        _ configuration: EnergyConfiguration
    ) async throws -> OutputValueView {
        guard principal.entersFigures(of: enterprise) else { throw WebError.forbidden }
        let now = nowMs()
        let value: OutputValue
        do {
            value = try OutputValue.checked(
                enterprise: enterprise.id, month: input.month, grossOutput: input.grossOutput, valueAdded: input.valueAdded, nowMs: now,
                in: configuration)
        } catch {
            throw WebError.badRequest(error.description)
        }
        let source = "web:" + principal.account.name
        try await store.outputValues.record(value, source: source, enteredMs: now)
        dataChanged(fromMs: value.monthStartMs)
        try await store.accounts.audit(
            account: principal.account.name, action: "output-value", detail: "\(enterprise.id) \(value.month) = \(value.grossOutput) 万元",
            remote: request.remoteAddress, atMs: now)
        return OutputValueView(StoredOutputValue(value, source: source, enteredMs: now), calendar: configuration.calendar)
    }

    /// Records a month of energy entered in the console or by a script, with who entered it.
    func enterEnergy(
        _ input: EnergyEntryInput, of enterprise: EnterpriseConfig, by principal: Principal, request: HTTPRequest,
        _ configuration: EnergyConfiguration
    ) async throws -> EnergyEntryView {
        guard principal.entersFigures(of: enterprise) else { throw WebError.forbidden }
        let now = nowMs()
        let entry: EnergyEntry
        do {
            entry = try EnergyEntry.checked(
                enterprise: enterprise.id, month: input.month, energy: input.energy, unit: input.unit, consumption: input.consumption,
                purchases: input.purchases, openingStock: input.openingStock, closingStock: input.closingStock, nowMs: now,
                in: configuration)
        } catch {
            throw WebError.badRequest(error.description)
        }
        let source = "web:" + principal.account.name
        try await store.entries.record(entry, source: source, enteredMs: now, calendar: configuration.calendar)
        dataChanged(fromMs: entry.monthStartMs)
        try await store.accounts.audit(
            account: principal.account.name, action: "energy-entry",
            detail: "\(enterprise.id) \(entry.month) \(entry.energy.rawValue) = \(entry.consumption) \(entry.unit)",
            remote: request.remoteAddress,
            atMs: now)
        return EnergyEntryView(StoredEnergyEntry(entry, source: source, enteredMs: now), calendar: configuration.calendar)
    }
}

/// A month's output value as the API takes it (万元).
struct OutputValueInput: Codable {
    var month: String
    var grossOutput: Double
    var valueAdded: Double?
}

/// A month's output value as the API shows it.
struct OutputValueView: Codable {
    var month: String
    var grossOutput: Double
    var valueAdded: Double?
    var source: String
    var enteredMs: Int64

    init(_ value: StoredOutputValue, calendar: CalendarBuckets) {
        month = String(calendar.dayLabel(value.monthStartMs).prefix(7))
        grossOutput = value.grossOutput
        valueAdded = value.valueAdded
        source = value.source
        enteredMs = value.enteredMs
    }
}

/// A month of energy entered by hand, as the API takes it: the consumption, or purchases with stocks.
struct EnergyEntryInput: Codable {
    var month: String
    var energy: String
    var unit: String
    var consumption: Double?
    var purchases: Double?
    var openingStock: Double?
    var closingStock: Double?
}

/// A month of energy entered by hand, as the API shows it.
struct EnergyEntryView: Codable {
    var month: String
    var energy: String
    var unit: String
    var purchases: Double?
    var openingStock: Double?
    var closingStock: Double?
    var consumption: Double
    var source: String
    var enteredMs: Int64

    init(_ entry: StoredEnergyEntry, calendar: CalendarBuckets) {
        month = String(calendar.dayLabel(entry.monthStartMs).prefix(7))
        energy = entry.energy.rawValue
        unit = entry.unit
        purchases = entry.purchases
        openingStock = entry.openingStock
        closingStock = entry.closingStock
        consumption = entry.consumption
        source = entry.source
        enteredMs = entry.enteredMs
    }
}

struct Me: Codable {
    var account: String
    var role: String
    var scope: [String]
    var csrf: String?
}

struct EnterpriseSummary: Codable {
    var id: String
    var name: String
    var jurisdiction: String
    var industry: String
    var meters: Int
    var products: [String]

    init(_ enterprise: EnterpriseConfig) {
        id = enterprise.id
        name = enterprise.name
        jurisdiction = enterprise.jurisdiction
        industry = enterprise.industry
        meters = enterprise.meters.count
        products = enterprise.products.map(\.product)
    }
}

struct AccountView: Codable {
    var name: String
    var role: String
    var scope: [String]
    var disabled: Bool
    var createdMs: Int64

    init(_ account: StoredAccount) {
        name = account.name
        role = account.role.rawValue
        scope = account.scope
        disabled = account.disabled
        createdMs = account.createdMs
    }
}

struct ProductionInput: Codable {
    var product: String
    var date: String
    var quantity: Double
}

struct Bucket: Codable {
    var meter: String
    var point: String
    var energy: String
    var quantity: String
    var unit: String
    var start: String
    var amount: Double
    var estimated: Double
    var goodSamples: Int
}

struct ConsumptionAnswer: Codable {
    var period: String
    var resolution: String
    var lines: [ConsumptionLine]?
    var totals: [ConsumptionTotal]?
    var buckets: [Bucket]?
}

struct UnitConsumptionAnswer: Codable {
    struct Month: Codable {
        var period: String
        var products: [ProductReportLine]
    }
    var enterprise: String
    var period: String
    var months: [Month]
}

/// A meter's readings over a range, as stored.
struct MeterReadings: Sendable {
    var fromMs: Int64
    var toMs: Int64
    var points: [(record: SeriesRecord, samples: [Sample])]
    var events: [StoredCounterEvent]
}

struct MeterSamplesAnswer: Codable {
    struct Reading: Codable {
        var t: String
        var v: Double?
        var q: String
    }
    struct Point: Codable {
        var point: String
        var unit: String
        var kind: String
        var samples: [Reading]
    }
    struct Event: Codable {
        var t: String
        var point: String
        var kind: String
        var detail: String
    }
    var meter: String
    var from: String
    var to: String
    var points: [Point]
    var events: [Event]
}

extension Optional {
    func orThrow(_ error: some Error) throws -> Wrapped {
        guard let self else { throw error }
        return self
    }
}
