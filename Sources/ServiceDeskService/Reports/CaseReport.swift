public import Foundation
public import GRDB
internal import ServiceRuntime
public import WireProtocol
public import CRMAPI

/// CaseReport's figures. ``facts(_:_:)`` reads what each case in the window contributes; ``make(_:repeatThreshold:)``
/// does the arithmetic on plain values, so that it can be checked against numbers worked out by hand.
public enum CaseReport {
    /// How a case did against one SLA metric.
    public enum Outcome: Sendable, Hashable {
        case met, breached, undecided
    }

    /// What one case contributes to the report.
    public struct Facts: Sendable, Hashable {
        public var kind: Crm_Servicedesk_V1_CaseKind
        public var category: String
        public var channel: Crm_Servicedesk_V1_CaseChannel
        public var branchID: String
        public var customerID: String
        /// Business seconds from opening to the latest resolution, if the case is resolved or closed.
        public var resolutionBusinessSeconds: Double?
        /// 1 to 5, 0 if none.
        public var satisfaction: Int
        public var firstResponse: Outcome
        public var resolution: Outcome
    }

    public static let maxWindow: TimeInterval = 366 * 86_400
    public static let maxRepeatComplainants = 100

    public static func run(
        _ request: Crm_Servicedesk_V1_CaseReportRequest, _ db: Database
    ) throws -> Crm_Servicedesk_V1_CaseReportResponse {
        var violations = FieldViolations()
        if request.toTime.milliseconds <= request.fromTime.milliseconds { violations.add("toTime", "must be after fromTime") }
        if Double(request.toTime.milliseconds - request.fromTime.milliseconds) / 1000 > maxWindow { violations.add("toTime", "must be at most 366 days after fromTime") }
        violations.enumeration(known: request.kind.rawValue <= 3, isUnspecified: request.kind == .unspecified, "kind", required: false)
        if request.repeatThreshold > 1_000 { violations.add("repeatThreshold", "must be at most 1000") }
        try violations.throwIfAny()
        let facts = try Self.facts(request, db)
        return make(facts, repeatThreshold: request.repeatThreshold == 0 ? 2 : Int(request.repeatThreshold))
    }

    /// The facts of every case opened in the request's window (and of its kind, if it names one).
    /// Two passes over the window (clocks grouped per case and metric, then the cases), columns
    /// read by position: 100,000 cases take well under a second (docs/BENCHMARKS.md).
    static func facts(_ request: Crm_Servicedesk_V1_CaseReportRequest, _ db: Database) throws -> [Facts] {
        let calendars = CalendarBook()
        let kindFilter = request.kind == .unspecified ? "" : " AND s.kind = \(request.kind.rawValue)"
        // Per case and metric: any clock breached, any met, any still open.
        var outcomes: [Int64: (firstResponse: Outcome, resolution: Outcome)] = [:]
        let clockRows = try Row.fetchCursor(
            db.cachedStatement(
                sql: """
                    SELECT c.case_key, c.metric, max(c.breach_fired OR c.state = 'breached'), max(c.state = 'met'),
                        max(c.stopped_at_ms IS NULL AND c.state != 'cancelled')
                    FROM sla_clock c JOIN service_case s ON s.key = c.case_key
                    WHERE s.opened_at_ms >= ? AND s.opened_at_ms < ?\(kindFilter)
                    GROUP BY c.case_key, c.metric
                    """),
            arguments: [request.fromTime.milliseconds, request.toTime.milliseconds])
        let firstResponse = SLAMetric.firstResponse.rawValue
        while let row = try clockRows.next() {
            let (breached, met, running): (Bool, Bool, Bool) = (row[2], row[3], row[4])
            let outcome: Outcome = breached ? .breached : (met && !running) ? .met : .undecided
            let caseKey: Int64 = row[0]
            var entry = outcomes[caseKey] ?? (.undecided, .undecided)
            if (row[1] as String) == firstResponse { entry.firstResponse = outcome } else { entry.resolution = outcome }
            outcomes[caseKey] = entry
        }
        var facts: [Facts] = []
        let caseRows = try Row.fetchCursor(
            db.cachedStatement(
                sql: """
                    SELECT s.key, s.kind, s.category, s.channel, s.branch_id, s.customer_id, s.status, s.opened_at_ms, s.resolved_at_ms,
                        s.satisfaction_score
                    FROM service_case s WHERE s.opened_at_ms >= ? AND s.opened_at_ms < ?\(kindFilter)
                    """),
            arguments: [request.fromTime.milliseconds, request.toTime.milliseconds])
        while let row = try caseRows.next() {
            let branch: String = row[4]
            let status = CaseStatus(rawValue: row[6]) ?? .new
            var resolutionSeconds: Double?
            if status == .resolved || status == .closed, let resolvedAt = row[8] as Int64? {
                let calendar = try calendars.calendar(forBranch: branch, db)
                resolutionSeconds = calendar.businessSeconds(from: Date(milliseconds: row[7]), to: Date(milliseconds: resolvedAt))
            }
            let clocks = outcomes[row[0]] ?? (.undecided, .undecided)
            facts.append(
                Facts(
                    kind: Crm_Servicedesk_V1_CaseKind(rawValue: row[1]) ?? .unspecified, category: row[2],
                    channel: Crm_Servicedesk_V1_CaseChannel(rawValue: row[3]) ?? .unspecified, branchID: branch, customerID: row[5],
                    resolutionBusinessSeconds: resolutionSeconds, satisfaction: row[9], firstResponse: clocks.firstResponse,
                    resolution: clocks.resolution))
        }
        return facts
    }

    /// The report over `facts`.
    public static func make(_ facts: [Facts], repeatThreshold: Int) -> Crm_Servicedesk_V1_CaseReportResponse {
        var report = Crm_Servicedesk_V1_CaseReportResponse()
        report.cases = UInt32(facts.count)
        report.byCategory = counts(facts.map(\.category))
        report.byTopCategory = counts(facts.map { CategoryPath.top($0.category) })
        report.byChannel = counts(facts.map { channelKey($0.channel) })
        report.byBranch = counts(facts.map(\.branchID))
        report.sla = [compliance(.firstResponse, facts.map(\.firstResponse)), compliance(.resolution, facts.map(\.resolution))]

        let hours = facts.compactMap(\.resolutionBusinessSeconds).map { $0 / 3_600 }.sorted()
        report.resolved = UInt32(hours.count)
        if !hours.isEmpty {
            report.meanResolutionBusinessHours = hours.reduce(0, +) / Double(hours.count)
            report.p90ResolutionBusinessHours = hours[Int((0.9 * Double(hours.count)).rounded(.up)) - 1]
        }

        let rated = facts.filter { $0.satisfaction > 0 }
        report.satisfactionByCategory = satisfaction(rated.map { ($0.category, $0.satisfaction) })
        report.satisfactionByTimeliness = satisfaction(
            rated.compactMap { fact in
                switch fact.resolution {
                case .met: ("met", fact.satisfaction)
                case .breached: ("breached", fact.satisfaction)
                case .undecided: nil
                }
            })

        var complaints: [String: Int] = [:]
        for fact in facts where fact.kind == .complaint { complaints[fact.customerID, default: 0] += 1 }
        let repeats = complaints.filter { $0.value >= repeatThreshold }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        report.repeatComplainantsTotal = UInt32(repeats.count)
        report.repeatComplainants = repeats.prefix(maxRepeatComplainants).map { entry in
            var complainant = Crm_Servicedesk_V1_RepeatComplainant()
            complainant.customerID = entry.key
            complainant.complaints = UInt32(entry.value)
            return complainant
        }
        return report
    }

    /// Keys with their counts, most first, then by key.
    static func counts(_ keys: [String]) -> [Crm_Servicedesk_V1_CountBy] {
        var counts: [String: Int] = [:]
        for key in keys { counts[key, default: 0] += 1 }
        return counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { entry in
            var count = Crm_Servicedesk_V1_CountBy()
            count.key = entry.key
            count.cases = UInt32(entry.value)
            return count
        }
    }

    static func compliance(_ metric: SLAMetric, _ outcomes: [Outcome]) -> Crm_Servicedesk_V1_SlaCompliance {
        var compliance = Crm_Servicedesk_V1_SlaCompliance()
        compliance.metric = metric.proto
        for outcome in outcomes {
            switch outcome {
            case .met: compliance.met += 1
            case .breached: compliance.breached += 1
            case .undecided: compliance.undecided += 1
            }
        }
        let decided = UInt64(compliance.met + compliance.breached)
        if decided > 0 { compliance.complianceBasisPoints = UInt32((UInt64(compliance.met) * 20_000 + decided) / (2 * decided)) }
        return compliance
    }

    /// Responses and mean score per key, keys in order.
    static func satisfaction(_ scores: [(key: String, score: Int)]) -> [Crm_Servicedesk_V1_SatisfactionBy] {
        var totals: [String: (responses: Int, sum: Int)] = [:]
        for (key, score) in scores { totals[key, default: (0, 0)] = (totals[key, default: (0, 0)].responses + 1, totals[key, default: (0, 0)].sum + score) }
        return totals.sorted { $0.key < $1.key }.map { entry in
            var by = Crm_Servicedesk_V1_SatisfactionBy()
            by.key = entry.key
            by.responses = UInt32(entry.value.responses)
            by.meanScore = Double(entry.value.sum) / Double(entry.value.responses)
            return by
        }
    }

    static func channelKey(_ channel: Crm_Servicedesk_V1_CaseChannel) -> String {
        switch channel {
        case .branch: "branch"
        case .phone: "phone"
        case .web: "web"
        case .app: "app"
        case .regulatorReferral: "regulator_referral"
        case .unspecified, .UNRECOGNIZED: "unspecified"
        }
    }
}
