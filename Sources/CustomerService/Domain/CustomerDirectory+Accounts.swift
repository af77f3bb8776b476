public import ServiceRuntime
internal import Foundation
public import GRDB
public import WireProtocol
public import CRMAPI

extension CustomerDirectory {
    public static let maxHoldingsPerCall = 1000

    var grading: Grading { Grading(now: now()) }

    // MARK: Accounts

    public func upsertAccounts(_ request: Crm_Customer_V1_UpsertAccountsRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_UpsertAccountsResponse {
        guard request.holdings.count <= Self.maxHoldingsPerCall else {
            var problems = FieldViolations()
            problems.add("holdings", "must hold at most \(Self.maxHoldingsPerCall) holdings per call")
            try problems.throwIfAny()
            return .init()
        }
        let validator = HoldingValidator(today: CalendarDate.today(now: now()))
        let time = nowMilliseconds
        var feed = FeedResults()
        var accountsInBatch: [String: Crm_Customer_V1_AccountHolding] = [:]
        var touched: Set<Int64> = []
        for (index, input) in request.holdings.enumerated() {
            try feed.run("holdings", index: index, number: input.accountNumber, customerID: input.customerID) { result in
                let holding = try validator.validated(input).get()
                result.accountNumber = holding.accountNumber
                let key = try holderKey(holding.customerID, db)
                if let earlier = accountsInBatch[holding.accountNumber], !Self.sameAccount(earlier, holding) {
                    throw HoldingValidator.Rejection(field: "accountNumber", problem: "differs from an earlier holding of the same account in this batch")
                }
                accountsInBatch[holding.accountNumber] = holding
                let outcome = try store(holding, customerKey: key, caller: caller, time: time, db)
                if outcome != .unchanged { touched.insert(key) }
                return outcome
            }
        }
        var response = Crm_Customer_V1_UpsertAccountsResponse()
        (response.results, response.created, response.updated, response.unchanged, response.rejected) =
            (feed.results, feed.created, feed.updated, feed.unchanged, feed.rejected)
        let rules = try Grading.rules(db)
        for key in touched.sorted() {
            try grading.regrade(customerKey: key, rules: rules, caller: caller, atMilliseconds: time, db)
        }
        return response
    }

    /// The key of a holding's customer, who must exist and be able to hold accounts.
    func holderKey(_ id: String, _ db: Database) throws -> Int64 {
        let key = CustomerRecords.key(fromID: id)!
        guard let row = try Row.fetchOne(db.cachedStatement( sql: "SELECT status, merged_into FROM customer WHERE key = ?"), arguments: [key]) else {
            throw HoldingValidator.Rejection(field: "customerId", problem: "no customer \(id)")
        }
        let status = Crm_Customer_V1_CustomerStatus(rawValue: row["status"]) ?? .unspecified
        if status == .merged, let survivor: Int64 = row["merged_into"] {
            throw HoldingValidator.Rejection(field: "customerId", problem: "\(id) was merged into \(CustomerRecords.customerID(survivor)); send that id")
        }
        guard status == .active || status == .inactive else {
            throw HoldingValidator.Rejection(field: "customerId", problem: "\(id) is \(status.name)")
        }
        return key
    }

    static func sameAccount(_ a: Crm_Customer_V1_AccountHolding, _ b: Crm_Customer_V1_AccountHolding) -> Bool {
        var a = a
        var b = b
        a.customerID = ""
        a.role = .unspecified
        b.customerID = ""
        b.role = .unspecified
        return a == b
    }

    /// Stores one valid holding: the account's row and the holder's row, auditing what changed.
    private func store(
        _ holding: Crm_Customer_V1_AccountHolding, customerKey: Int64, caller: Caller, time: Int64, _ db: Database
    ) throws -> Crm_Customer_V1_HoldingResult.Outcome {
        let existing = try AccountRecords.load(holding.accountNumber, customerKey: customerKey, db)
        if let existing, existing == holding { return .unchanged }
        if existing.map({ !Self.sameAccount($0, holding) }) ?? true {
            try AccountRecords.upsertAccount(holding, changedAt: time, db)
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO account_holder (customer_key, account_number, role) VALUES (?, ?, ?)
                ON CONFLICT (customer_key, account_number) DO UPDATE SET role = excluded.role
                """).execute(arguments: [customerKey, holding.accountNumber, holding.role.rawValue])
        try AuditLog.append(
            [.init(
                customerKey: customerKey, action: "account", field: "accounts[\(holding.accountNumber)]",
                before: existing.map(ProfileDiff.json) ?? "", after: ProfileDiff.json(holding))],
            caller: caller, atMilliseconds: time, db)
        return existing == nil ? .created : .updated
    }

    // MARK: Contact history

    public static let maxInteractionPageSize: UInt32 = 200

    public func recordInteraction(_ request: Crm_Customer_V1_RecordInteractionRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_RecordInteractionResponse {
        let input = request.interaction
        var problems = FieldViolations()
        let key = CustomerRecords.key(fromID: input.customerID)
        if key == nil { problems.add("interaction.customerId", "must be C followed by 10 digits") }
        switch input.channel {
        case .unspecified: problems.add("interaction.channel", "is required")
        case .UNRECOGNIZED: problems.add("interaction.channel", "is not a known value")
        default: break
        }
        let subject = problems.text(input.subject, "interaction.subject", max: 200, required: true)
        let outcome = problems.text(input.outcome, "interaction.outcome", max: 1000)
        let handledBy = problems.code(input.handledBy, "interaction.handledBy", max: 20, required: true)
        let time = nowMilliseconds
        let at = input.at.milliseconds == 0 ? time : input.at.milliseconds
        if input.at.milliseconds < 0 || at > time + 300_000 { problems.add("interaction.at.milliseconds", "must not be in the future") }
        try problems.throwIfAny()
        let current = try CustomerRecords.load(key: key!, db)
        guard let current else { throw CustomerErrors.notFound(input.customerID) }
        guard current.status == .active || current.status == .inactive else {
            throw CustomerErrors.wrongStatus(input.customerID, status: current.status, action: "contacted")
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO interaction (customer_key, channel, subject, outcome, handled_by, at_ms, recorded_at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [key, input.channel.rawValue, subject, outcome, handledBy, at, time])
        var response = Crm_Customer_V1_RecordInteractionResponse()
        response.interactionID = UInt64(db.lastInsertedRowID)
        try AuditLog.append(
            [.init(customerKey: key!, action: "interaction", field: "interactions", before: "", after: String(response.interactionID))],
            caller: caller, atMilliseconds: time, db)
        try grading.regrade(customerKey: key!, rules: try Grading.rules(db), caller: caller, atMilliseconds: time, db)
        return response
    }

    public func listInteractions(_ request: Crm_Customer_V1_ListInteractionsRequest, _ db: Database) throws -> Crm_Customer_V1_ListInteractionsResponse {
        let key = try Self.key(request.customerID, field: "customerId")
        var problems = FieldViolations()
        let pageSize = problems.pageSize(request.pageSize, max: Self.maxInteractionPageSize, defaultSize: 50)
        let before = problems.pageToken(request.pageToken, initial: .max)
        try problems.throwIfAny()
        // Newest first by id (ids grow with recording time), so the token is a plain id bound.
        let interactions = try AccountRecords.interactions(customerKey: key, beforeID: before, limit: pageSize + 1, db)
        var response = Crm_Customer_V1_ListInteractionsResponse()
        response.interactions = Array(interactions.prefix(pageSize))
        if interactions.count > pageSize, let last = response.interactions.last {
            response.nextPageToken = PageToken.token(afterKey: Int64(last.interactionID))
        }
        return response
    }

    // MARK: Grades

    public func setCreditGrade(_ request: Crm_Customer_V1_SetCreditGradeRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_SetCreditGradeResponse {
        let key = try Self.key(request.id, field: "id")
        var problems = FieldViolations()
        let grade = request.creditGrade.trimmingWhitespace().uppercased()
        if grade.unicodeScalars.count > 4
            || !grade.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "+" || $0 == "-" })
        {
            problems.add("creditGrade", "must be 1 to 4 letters, digits, + or -")
        }
        let source = problems.text(request.source, "source", max: 50, required: true)
        try problems.throwIfAny()
        guard let current = try CustomerRecords.load(key: key, db) else { throw CustomerErrors.notFound(request.id) }
        guard current.status == .active || current.status == .inactive else {
            throw CustomerErrors.wrongStatus(request.id, status: current.status, action: "graded")
        }
        if current.creditGrade != grade {
            try db.cachedStatement(
                sql: "UPDATE customer SET credit_grade = ?, credit_grade_source = ?, version = version + 1, updated_at_ms = ? WHERE key = ?"
            ).execute(arguments: [grade, source, nowMilliseconds, key])
            try AuditLog.append(
                [.init(customerKey: key, action: "credit-grade", field: "creditGrade", before: current.creditGrade, after: "\(grade) (\(source))")],
                caller: caller, atMilliseconds: nowMilliseconds, db)
        }
        var response = Crm_Customer_V1_SetCreditGradeResponse()
        response.customer = try view(key: key, caller: caller, db)
        return response
    }

    /// Recomputes the grades and stages of up to `limit` live customers with keys above `afterKey`,
    /// adding to `progress`; returns the last key seen, or nil when there are no more. The caller
    /// runs one short transaction per batch so the writer is never held for the whole table.
    public func recomputeGrades(
        afterKey: Int64, limit: Int, progress: inout Crm_Customer_V1_RecomputeGradesResponse, caller: Caller, _ db: Database
    ) throws -> Int64? {
        let rules = try Grading.rules(db)
        let time = nowMilliseconds
        let grading = self.grading
        let live = "\(Crm_Customer_V1_CustomerStatus.active.rawValue), \(Crm_Customer_V1_CustomerStatus.inactive.rawValue)"
        let keys = try Int64.fetchAll(
            db.cachedStatement( sql: "SELECT key FROM customer WHERE status IN (\(live)) AND key > ? ORDER BY key LIMIT ?"), arguments: [afterKey, limit])
        for key in keys {
            let changed = try grading.regrade(customerKey: key, rules: rules, caller: caller, atMilliseconds: time, db)
            progress.customersChecked += 1
            if changed.grade { progress.gradesChanged += 1 }
            if changed.stage { progress.stagesChanged += 1 }
        }
        return keys.last
    }

    public func setValueGradeRules(_ request: Crm_Customer_V1_SetValueGradeRulesRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_SetValueGradeRulesResponse {
        var problems = FieldViolations()
        let rules = request.rules.sorted { $0.grade < $1.grade }
        if rules.map(\.grade) != [1, 2, 3, 4] {
            problems.add("rules", "must hold exactly one rule for each of grades 1, 2, 3 and 4")
        } else {
            for (index, rule) in rules.enumerated() {
                if rule.minAssetsMinor < 0 || rule.minAnnualContributionMinor < 0 {
                    problems.add("rules[\(index)]", "thresholds must not be negative")
                }
                if index > 0, rule.minAssetsMinor > rules[index - 1].minAssetsMinor
                    || rule.minAnnualContributionMinor > rules[index - 1].minAnnualContributionMinor
                {
                    problems.add("rules[\(index)]", "grade \(rule.grade)'s thresholds must not exceed grade \(rule.grade - 1)'s")
                }
            }
        }
        try problems.throwIfAny()
        let before = try Grading.rules(db)
        var response = Crm_Customer_V1_SetValueGradeRulesResponse()
        response.version = try SettingsHistory.replace(
            Self.valueGradeRulesSettings, expectedVersion: request.expectedVersion, setBy: caller.actor, atMilliseconds: nowMilliseconds, db,
            apply: {
                try db.cachedStatement(sql: "DELETE FROM value_grade_rule").execute()
                for rule in rules {
                    try db.cachedStatement(
                        sql: "INSERT INTO value_grade_rule (grade, min_assets_minor, min_annual_contribution_minor) VALUES (?, ?, ?)")
                        .execute(arguments: [rule.grade, rule.minAssetsMinor, rule.minAnnualContributionMinor])
                }
                // Rules are not one customer's data; the audit row is keyed to customer 0.
                try AuditLog.append(
                    [.init(customerKey: 0, action: "grade-rules", field: "rules", before: before.map(ProfileDiff.json).joined(separator: ";"),
                           after: rules.map(ProfileDiff.json).joined(separator: ";"))],
                    caller: caller, atMilliseconds: nowMilliseconds, db)
            },
            inForce: { try valueGradeRulesInForce(db) })
        response.rules = try Grading.rules(db)
        return response
    }

    /// Versioned in ``SettingsHistory`` under this name.
    static let valueGradeRulesSettings = "value_grade_rules"

    func valueGradeRulesInForce(_ db: Database) throws -> Crm_Customer_V1_GetValueGradeRulesResponse {
        var response = Crm_Customer_V1_GetValueGradeRulesResponse()
        response.rules = try Grading.rules(db)
        return response
    }

    /// Customer.SetLifecycleRules: replaces the lifecycle rules (audited like the grade rules).
    public func setLifecycleRules(
        _ request: Crm_Customer_V1_SetLifecycleRulesRequest, caller: Caller, _ db: Database
    ) throws -> Crm_Customer_V1_SetLifecycleRulesResponse {
        try Lifecycle.check(request.rules)
        let rules = Lifecycle.withDefaults(request.rules)
        let before = try Lifecycle.rules(db)
        var response = Crm_Customer_V1_SetLifecycleRulesResponse()
        response.version = try SettingsHistory.replace(
            Lifecycle.settingsName, expectedVersion: request.expectedVersion, setBy: caller.actor, atMilliseconds: nowMilliseconds, db,
            apply: {
                try AuditLog.append(
                    [.init(customerKey: 0, action: "lifecycle-rules", field: "rules", before: ProfileDiff.json(before), after: ProfileDiff.json(rules))],
                    caller: caller, atMilliseconds: nowMilliseconds, db)
            },
            inForce: { rules })
        response.rules = rules
        return response
    }

    /// Customer.GetLifecycleRules: in force (defaults filled in) or as an earlier Set left them.
    public func getLifecycleRules(_ request: Crm_Customer_V1_GetLifecycleRulesRequest, _ db: Database) throws -> Crm_Customer_V1_GetLifecycleRulesResponse {
        let (rules, entry) = try SettingsHistory.read(Lifecycle.settingsName, version: request.version, db) { try Lifecycle.rules(db) }
        var response = Crm_Customer_V1_GetLifecycleRulesResponse()
        response.rules = rules
        if let entry { (response.version, response.setAt.milliseconds, response.setBy) = (entry.version, entry.setAtMilliseconds, entry.setBy) }
        return response
    }

    /// Customer.GetValueGradeRules: in force or as an earlier Set left them.
    public func getValueGradeRules(_ request: Crm_Customer_V1_GetValueGradeRulesRequest, _ db: Database) throws -> Crm_Customer_V1_GetValueGradeRulesResponse {
        var (response, entry) = try SettingsHistory.read(Self.valueGradeRulesSettings, version: request.version, db) {
            try valueGradeRulesInForce(db)
        }
        if let entry { (response.version, response.setAt.milliseconds, response.setBy) = (entry.version, entry.setAtMilliseconds, entry.setBy) }
        return response
    }

    // MARK: Single customer view

    public static let maxRecentInteractions: UInt32 = 50

    public func getView(_ request: Crm_Customer_V1_GetCustomerViewRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_GetCustomerViewResponse {
        let key = try Self.key(request.id, field: "id")
        if request.recentInteractions > Self.maxRecentInteractions {
            var problems = FieldViolations()
            problems.add("recentInteractions", "must be at most \(Self.maxRecentInteractions)")
            try problems.throwIfAny()
        }
        guard let customer = try CustomerRecords.load(key: key, db) else { throw CustomerErrors.notFound(request.id) }
        var view = Crm_Customer_V1_CustomerView()
        view.customer = presented(customer, caller: caller)
        view.accounts = try AccountRecords.holdings(customerKey: key, db)
        var totals: [String: Crm_Customer_V1_CurrencyTotal] = [:]
        for account in view.accounts where account.closedOn.isEmpty {
            var total = totals[account.currency] ?? Crm_Customer_V1_CurrencyTotal()
            total.currency = account.currency
            let isLiability = account.productType == .loan || account.productType == .card
            let isOwned = account.role == .owner || account.role == .jointOwner
            if isLiability {
                total.liabilitiesMinor += account.balanceMinor
                view.reportingLiabilitiesMinor += account.reportingBalanceMinor
            } else if isOwned {
                total.assetsMinor += account.balanceMinor
                view.reportingAssetsMinor += account.reportingBalanceMinor
            }
            if isOwned { view.monthlyContributionMinor += account.monthlyContributionMinor }
            totals[account.currency] = total
        }
        view.totals = totals.keys.sorted().map { totals[$0]! }
        let recent = request.recentInteractions == 0 ? 10 : Int(request.recentInteractions)
        view.recentInteractions = try AccountRecords.interactions(customerKey: key, beforeID: .max, limit: recent, db)
        view.mergedCustomerIds = try Int64.fetchAll(db.cachedStatement( sql: "SELECT key FROM customer WHERE merged_into = ? ORDER BY key"), arguments: [key])
            .map(CustomerRecords.customerID)
        if let household = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT household_key FROM household_member WHERE customer_key = ?"), arguments: [key])
        {
            view.household = try self.household(household, db)
        }
        view.agreements = try agreements(customerKey: key, db)
        view.consents = try consents(key: key, includeHistory: false, db).current
        if let manager = try Self.relationshipManager(customer.profile.relationshipManagerID, db) { view.relationshipManager = manager }
        view.branchPath = try branchPath(customer.profile.branchID, db)
        let cases = try CaseSummaries.forView(customerKey: key, db)
        view.cases = cases.cases
        view.openCases = UInt32(cases.open)
        let opportunities = try OpportunitySummaries.forView(customerKey: key, db)
        view.opportunities = opportunities.opportunities
        view.openOpportunities = UInt32(opportunities.open)
        var response = Crm_Customer_V1_GetCustomerViewResponse()
        response.view = view
        return response
    }
}
