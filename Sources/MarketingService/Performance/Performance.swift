internal import Foundation
public import GRDB
internal import ServiceRuntime
public import WireProtocol
public import CRMAPI

/// RM targets and their achievement, rolled up the organisation: an RM's figures count for their
/// unit and for every unit above it. The tree and the RMs come from the customer feed.
public struct Performance: Sendable {
    public let pipeline: Pipeline

    public init(pipeline: Pipeline) {
        self.pipeline = pipeline
    }

    public static let maxTargets = 5_000

    public func setTargets(_ request: Crm_Marketing_V1_SetTargetsRequest, _ db: Database) throws -> Crm_Marketing_V1_SetTargetsResponse {
        var violations = FieldViolations()
        if request.targets.count > Self.maxTargets { violations.add("targets", "must hold at most \(Self.maxTargets)") }
        for (index, target) in request.targets.enumerated() {
            _ = violations.code(target.relationshipManagerID, "targets[\(index)].relationshipManagerId", max: 20, required: true)
            if Self.month(target.period) == nil { violations.add("targets[\(index)].period", "must be a month YYYY-MM") }
            if !(0...10_000_000_000_000).contains(target.targetMinor) { violations.add("targets[\(index)].targetMinor", "must be 0 to 10^13") }
        }
        try violations.throwIfAny()
        for target in request.targets {
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO rm_target (relationship_manager_id, period, target_minor) VALUES (?, ?, ?)").execute(
                arguments: [target.relationshipManagerID, target.period, target.targetMinor])
        }
        try ChangeLog.append(type: "targets.set", entityKey: "targets", payload: request, atMilliseconds: pipeline.nowMilliseconds, db)
        var response = Crm_Marketing_V1_SetTargetsResponse()
        response.targets = UInt32(request.targets.count)
        return response
    }

    /// The first day of a `YYYY-MM` month and of the next one.
    static func month(_ period: String) -> (first: LocalDate, next: LocalDate)? {
        guard period.utf8.count == 7, let first = LocalDate(period + "-01") else { return nil }
        let next = first.month == 12 ? LocalDate(year: first.year + 1, month: 1, day: 1) : LocalDate(year: first.year, month: first.month + 1, day: 1)
        return (first, next)
    }

    public func report(_ request: Crm_Marketing_V1_PerformanceReportRequest, _ db: Database) throws -> Crm_Marketing_V1_PerformanceReportResponse {
        var violations = FieldViolations()
        let root = violations.code(request.unitID, "unitId", max: 20, required: true)
        let month = Self.month(request.period)
        if month == nil { violations.add("period", "must be a month YYYY-MM") }
        try violations.throwIfAny()
        guard let month else { return .init() }
        var units: [String: (kind: Int, name: String, parent: String)] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT unit_id, kind, name, parent_id FROM org_unit")) {
            units[row[0]] = (row[1], row[2], row[3])
        }
        guard units[root] != nil else {
            throw RPCError(code: .notFound, message: "no unit \(root) in Marketing's copy of the organisation", reason: .unitNotFound, processing: .notProcessed)
        }
        var children: [String: [String]] = [:]
        for (id, unit) in units where !unit.parent.isEmpty { children[unit.parent, default: []].append(id) }
        var managers: [String: [(id: String, name: String)]] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT relationship_manager_id, name, unit_id FROM org_manager ORDER BY relationship_manager_id")) {
            managers[row[2], default: []].append((row[0], row[1]))
        }
        let targets = Dictionary(
            try StatementRow.readAll(db.cachedStatement(sql: "SELECT relationship_manager_id, target_minor FROM rm_target WHERE period = ?"), arguments: [request.period]) { ($0[0] as String, $0[1] as Int64) }, uniquingKeysWith: { $1 })
        // Won in the month, in the service's time zone.
        let from = instant(month.first)
        let to = instant(month.next)
        var achieved: [String: (amount: Int64, count: Int)] = [:]
        for row in try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT owner_rm_id, sum(amount_minor), count(*) FROM opportunity
                    WHERE stage = ? AND currency = 'CNY' AND closed_at_ms >= ? AND closed_at_ms < ? GROUP BY owner_rm_id
                    """),
            arguments: [OpportunityStage.won.rawValue, from, to])
        {
            achieved[row[0]] = (row[1], row[2])
        }

        var rows: [Crm_Marketing_V1_PerformanceRow] = []
        /// Appends the unit's row, its RMs' and its children's (tree order); returns its totals.
        func visit(_ unitID: String, depth: UInt32) -> (target: Int64, achieved: Int64, won: Int) {
            let unit = units[unitID]!
            let index = rows.count
            var row = Crm_Marketing_V1_PerformanceRow()
            (row.id, row.name, row.level, row.depth) = (unitID, unit.name, Self.level(unit.kind), depth)
            rows.append(row)
            var total: (target: Int64, achieved: Int64, won: Int) = (0, 0, 0)
            for manager in managers[unitID] ?? [] {
                var rmRow = Crm_Marketing_V1_PerformanceRow()
                (rmRow.id, rmRow.name, rmRow.level, rmRow.depth) = (manager.id, manager.name, "rm", depth + 1)
                let figures = (targets[manager.id] ?? 0, achieved[manager.id]?.amount ?? 0, achieved[manager.id]?.count ?? 0)
                Self.fill(&rmRow, figures)
                rows.append(rmRow)
                total = (total.target + figures.0, total.achieved + figures.1, total.won + figures.2)
            }
            for child in (children[unitID] ?? []).sorted() {
                let figures = visit(child, depth: depth + 1)
                total = (total.target + figures.target, total.achieved + figures.achieved, total.won + figures.won)
            }
            Self.fill(&rows[index], total)
            return total
        }
        _ = visit(root, depth: 0)
        var response = Crm_Marketing_V1_PerformanceReportResponse()
        response.rows = rows
        return response
    }

    public static let maxContributionRows = 1_000

    /// Last month's contribution of active customers' open owned accounts, grouped, largest first.
    public func contribution(_ request: Crm_Marketing_V1_ContributionReportRequest, _ db: Database) throws -> Crm_Marketing_V1_ContributionReportResponse {
        let key: String? =
            switch request.groupBy {
            case .product: "h.product_type"
            case .customer: "h.customer_id"
            case .ownerRm: "m.relationship_manager_id"
            case .branch: "m.branch_id"
            case .unspecified, .UNRECOGNIZED: nil
            }
        guard let key else {
            var violations = FieldViolations()
            violations.add("groupBy", "is required (PRODUCT, CUSTOMER, OWNER_RM or BRANCH)")
            try violations.throwIfAny()
            return .init()
        }
        let names = Dictionary(uniqueKeysWithValues: SegmentQuery.productTypes.map { ("\($0.value)", $0.key) })
        var response = Crm_Marketing_V1_ContributionReportResponse()
        response.rows = try StatementRow.readAll(
            db,
            sql: """
                SELECT CAST(\(key) AS TEXT), count(DISTINCT h.customer_id), count(*), sum(h.monthly_contribution_minor), sum(h.reporting_balance_minor)
                FROM held_account h JOIN customer_mirror m ON m.customer_id = h.customer_id WHERE m.status = ?
                GROUP BY \(key) ORDER BY sum(h.monthly_contribution_minor) DESC, 1 LIMIT ?
                """,
            arguments: [Crm_Customer_V1_CustomerStatus.active.rawValue, Self.maxContributionRows]
        ) { row in
            var entry = Crm_Marketing_V1_ContributionRow()
            let raw: String = row[0]
            entry.key = request.groupBy == .product ? names[raw] ?? raw : raw
            (entry.customers, entry.accounts, entry.monthlyContributionMinor, entry.reportingBalanceMinor) = (row[1], row[2], row[3], row[4])
            return entry
        }
        response.totalMonthlyContributionMinor = try Int64.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT coalesce(sum(h.monthly_contribution_minor), 0) FROM held_account h JOIN customer_mirror m ON m.customer_id = h.customer_id
                    WHERE m.status = ?
                    """),
            arguments: [Crm_Customer_V1_CustomerStatus.active.rawValue]) ?? 0
        return response
    }

    private func instant(_ day: LocalDate) -> Int64 {
        let midnight = Double(day.daysSinceEpoch * 86_400)
        let offset = pipeline.timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: midnight))
        return Int64((midnight - Double(offset)) * 1000)
    }

    private static func fill(_ row: inout Crm_Marketing_V1_PerformanceRow, _ figures: (Int64, Int64, Int)) {
        (row.targetMinor, row.achievedMinor, row.wonOpportunities) = (figures.0, figures.1, UInt32(figures.2))
        row.achievementBasisPoints = figures.0 <= 0 ? 0 : UInt32(clamping: (figures.1 * 20_000 + figures.0) / (2 * figures.0))
    }

    private static func level(_ kind: Int) -> String {
        switch Crm_Customer_V1_OrgUnitKind(rawValue: kind) {
        case .headOffice: "head_office"
        case .region: "region"
        case .branch: "branch"
        case .subBranch: "sub_branch"
        default: "unit"
        }
    }
}
