internal import Foundation
internal import GRDB
internal import ServiceRuntime
internal import WireProtocol
internal import CRMAPI

/// Value grades and lifecycle stages, derived from what a customer holds and does.
///
/// Both are derived fields: recomputing them does not bump the customer's version (which guards the
/// profile callers write), but every change is audited.
struct Grading {
    var now: Date

    struct Facts {
        var everHeld = false
        var openAccounts = 0
        var openProductTypes = 0
        var firstOpened = ""
        var assetsMinor: Int64 = 0
        var monthlyContributionMinor: Int64 = 0
        var lastActivityMs: Int64 = 0
    }

    static let ownedRoles = "(\(Crm_Customer_V1_OwnershipRole.owner.rawValue), \(Crm_Customer_V1_OwnershipRole.jointOwner.rawValue))"
    static let liabilityTypes = "(\(Crm_Customer_V1_ProductType.loan.rawValue), \(Crm_Customer_V1_ProductType.card.rawValue))"

    static func facts(customerKey: Int64, _ db: Database) throws -> Facts {
        var facts = Facts()
        let row = try Row.fetchOne(
            db.cachedStatement(
            sql: """
                SELECT count(*) AS held,
                       sum(a.closed_on = '') AS open,
                       count(DISTINCT CASE WHEN a.closed_on = '' THEN a.product_type END) AS types,
                       min(a.opened_on) AS first_opened,
                       sum(CASE WHEN a.closed_on = '' AND h.role IN \(ownedRoles) AND a.product_type NOT IN \(liabilityTypes)
                           THEN a.reporting_balance_minor ELSE 0 END) AS assets,
                       sum(CASE WHEN a.closed_on = '' AND h.role IN \(ownedRoles) THEN a.monthly_contribution_minor ELSE 0 END) AS contribution,
                       max(a.changed_at_ms) AS account_activity
                FROM account_holder h JOIN account a ON a.account_number = h.account_number
                WHERE h.customer_key = ?
                """),
            arguments: [customerKey])
        if let row {
            facts.everHeld = (row["held"] as Int64? ?? 0) > 0
            facts.openAccounts = row["open"] ?? 0
            facts.openProductTypes = row["types"] ?? 0
            facts.firstOpened = row["first_opened"] ?? ""
            facts.assetsMinor = row["assets"] ?? 0
            facts.monthlyContributionMinor = row["contribution"] ?? 0
            facts.lastActivityMs = row["account_activity"] ?? 0
        }
        let lastInteraction = try Int64.fetchOne(
            db.cachedStatement( sql: "SELECT max(at_ms) FROM interaction WHERE customer_key = ?"), arguments: [customerKey]) ?? 0
        facts.lastActivityMs = max(facts.lastActivityMs, lastInteraction)
        return facts
    }

    static func rules(_ db: Database) throws -> [Crm_Customer_V1_ValueGradeRule] {
        try StatementRow.readAll(db.cachedStatement( sql: "SELECT * FROM value_grade_rule ORDER BY grade")) { row in
            var rule = Crm_Customer_V1_ValueGradeRule()
            rule.grade = row["grade"]
            rule.minAssetsMinor = row["min_assets_minor"]
            rule.minAnnualContributionMinor = row["min_annual_contribution_minor"]
            return rule
        }
    }

    /// 1 (best) to 5, or 0 for someone who never held an account.
    static func valueGrade(_ facts: Facts, rules: [Crm_Customer_V1_ValueGradeRule]) -> UInt32 {
        guard facts.everHeld else { return 0 }
        let annual = facts.monthlyContributionMinor.multipliedReportingOverflow(by: 12).partialValue
        for rule in rules where facts.assetsMinor >= rule.minAssetsMinor || annual >= rule.minAnnualContributionMinor {
            return rule.grade
        }
        return 5
    }

    /// Recomputes one customer's grade and stage; writes and audits any change. Returns what changed.
    ///
    /// Today's assets and contribution join the customer's daily highs first, so that the trend
    /// window compares what they hold now with the most they held within it.
    @discardableResult
    func regrade(
        customerKey: Int64, rules: [Crm_Customer_V1_ValueGradeRule], caller: Caller, atMilliseconds time: Int64, _ db: Database
    ) throws -> (grade: Bool, stage: Bool) {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT value_grade, lifecycle_stage, lifecycle_reason FROM customer WHERE key = ?"), arguments: [customerKey])
        else { return (false, false) }
        let facts = try Self.facts(customerKey: customerKey, db)
        let grade = Self.valueGrade(facts, rules: rules)
        let lifecycle = Lifecycle(rules: try Lifecycle.rules(db), now: now)
        try Lifecycle.recordHighs(
            customerKey: customerKey, day: lifecycle.day(daysAgo: 0), assetsMinor: facts.assetsMinor,
            contributionMinor: facts.monthlyContributionMinor, db)
        try Lifecycle.pruneHighs(customerKey: customerKey, before: lifecycle.day(daysAgo: 366), db)
        let highs = try Lifecycle.highs(customerKey: customerKey, since: lifecycle.day(daysAgo: Double(lifecycle.rules.churnRiskWindowDays)), db)
        let judgement = lifecycle.judge(facts, highs: highs)
        let oldGrade: UInt32 = row["value_grade"]
        let oldStage = Crm_Customer_V1_LifecycleStage(rawValue: row["lifecycle_stage"]) ?? .unspecified
        let oldReason: String = row["lifecycle_reason"]
        var entries: [AuditLog.Entry] = []
        if grade != oldGrade {
            entries.append(.init(customerKey: customerKey, action: "regrade", field: "valueGrade", before: String(oldGrade), after: String(grade)))
        }
        if judgement.stage != oldStage {
            entries.append(
                .init(customerKey: customerKey, action: "regrade", field: "lifecycleStage", before: "\(oldStage)", after: "\(judgement.stage)"))
        }
        // A changed reason is a change like any other (audited, published, a new version), except
        // its first filling-in for a customer stored before reasons were kept.
        if judgement.reason != oldReason && (judgement.stage != oldStage || !oldReason.isEmpty) {
            entries.append(.init(customerKey: customerKey, action: "regrade", field: "lifecycleReason", before: oldReason, after: judgement.reason))
        }
        if !entries.isEmpty || judgement.reason != oldReason {
            try db.cachedStatement(
                sql: "UPDATE customer SET value_grade = ?, lifecycle_stage = ?, lifecycle_reason = ? WHERE key = ?")
                .execute(arguments: [grade, judgement.stage.rawValue, judgement.reason, customerKey])
        }
        if !entries.isEmpty { try AuditLog.append(entries, caller: caller, atMilliseconds: time, db) }
        return (grade != oldGrade, judgement.stage != oldStage)
    }
}
