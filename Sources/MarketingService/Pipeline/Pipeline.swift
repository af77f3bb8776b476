public import Foundation
public import GRDB
public import ServiceRuntime
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI

/// The sales pipeline's rules over Marketing's database: every function runs inside the caller's
/// transaction, so an opportunity, its stage history and its change event commit together.
public struct Pipeline: Sendable {
    public let now: @Sendable () -> Date
    /// Where "today" is decided (due dates, birthdays, overdue tasks).
    public let timeZone: TimeZone

    public init(now: @escaping @Sendable () -> Date = { Date() }, timeZone: TimeZone = TimeZone(identifier: "Asia/Shanghai")!) {
        self.now = now
        self.timeZone = timeZone
    }

    /// The date in the service's time zone at an instant.
    public func today(atMilliseconds milliseconds: Int64) -> LocalDate {
        let seconds = Double(milliseconds) / 1000
        let local = seconds + Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: seconds)))
        return LocalDate(daysSinceEpoch: Int((local / 86_400).rounded(.down)))
    }

    public var today: LocalDate { today(atMilliseconds: nowMilliseconds) }

    static let opportunityIDs = PrefixedID(prefix: "O", table: "opportunity", noun: "opportunity", notFoundReason: .opportunityNotFound)

    var nowMilliseconds: Int64 { Int64((now().timeIntervalSince1970 * 1000).rounded()) }

    public func create(
        _ request: Crm_Marketing_V1_CreateOpportunityRequest, actor: String, _ db: Database
    ) throws -> Crm_Marketing_V1_CreateOpportunityResponse {
        var violations = FieldViolations()
        let customerID = violations.code(request.customerID, "customerId", max: 20, required: true)
        let product = violations.product(request.product)
        violations.amount(request.amountMinor, currency: request.currency)
        let owner = violations.code(request.ownerRmID, "ownerRmId", max: 20, required: true)
        let referrer = violations.code(request.referredByRmID, "referredByRmId", max: 20)
        if !referrer.isEmpty, referrer == owner { violations.add("referredByRmId", "must be another RM than the owner") }
        let closeDate = violations.date(request.expectedCloseDate, "expectedCloseDate", required: true)
        let stage = request.stage == .unspecified ? .lead : OpportunityStage(request.stage)
        if stage == nil || stage?.isOpen == false { violations.add("stage", "must be an open stage (LEAD if unspecified)") }
        try violations.throwIfAny()
        guard let stage else { return .init() }

        let customer = try MarketingMirror.usableCustomer(customerID, thing: "the opportunity", db)
        let at = nowMilliseconds
        try db.cachedStatement(
            sql: """
                INSERT INTO opportunity (customer_id, product, amount_minor, currency, stage, owner_rm_id, branch_id, expected_close_date,
                    referred_by_rm_id, version, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
                """
        ).execute(arguments: [
            customerID, product, request.amountMinor, request.currency, stage.rawValue, owner, customer.branchID, closeDate, referrer, at, at,
        ])
        let key = db.lastInsertedRowID
        let probabilities = try Self.probabilities(db)
        try record(key: key, from: stage, to: stage, probability: probabilities[stage] ?? 0, actor: actor, reason: "created", at: at, db)
        var response = Crm_Marketing_V1_CreateOpportunityResponse()
        response.opportunity = try load(key, probabilities: probabilities, db)
        try publish("opportunity.created", response.opportunity, db)
        return response
    }

    public func get(_ request: Crm_Marketing_V1_GetOpportunityRequest, _ db: Database) throws -> Crm_Marketing_V1_GetOpportunityResponse {
        let key = try Self.opportunityIDs.key(request.id, db)
        var response = Crm_Marketing_V1_GetOpportunityResponse()
        response.opportunity = try load(key, probabilities: try Self.probabilities(db), db)
        response.history = try StatementRow.readAll(
            db.cachedStatement(
                sql: "SELECT from_stage, to_stage, probability, actor, reason, at_ms FROM opportunity_stage WHERE opportunity_key = ? ORDER BY key"),
            arguments: [key]
        ) { row in
            var change = Crm_Marketing_V1_StageChange()
            change.from = (OpportunityStage(rawValue: row[0]) ?? .lead).proto
            change.to = (OpportunityStage(rawValue: row[1]) ?? .lead).proto
            (change.probabilityPercent, change.actor, change.reason, change.at.milliseconds) = (row[2], row[3], row[4], row[5])
            return change
        }
        return response
    }

    public func move(_ request: Crm_Marketing_V1_MoveOpportunityRequest, actor: String, _ db: Database) throws -> Crm_Marketing_V1_MoveOpportunityResponse {
        var violations = FieldViolations()
        let target = OpportunityStage(request.stage)
        if target == nil { violations.add("stage", "is required (a known stage)") }
        let reason = violations.text(request.reason, "reason", max: 500, required: target == .lost)
        let closeDate = violations.date(request.expectedCloseDate, "expectedCloseDate", required: false)
        try violations.throwIfAny()
        guard let target else { return .init() }

        let key = try Self.opportunityIDs.key(request.id, db)
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT stage, version FROM opportunity WHERE key = ?"), arguments: [key])!
        try Self.opportunityIDs.checkVersion(request.id, current: row[1], expected: request.expectedVersion)
        let current = OpportunityStage(rawValue: row[0]) ?? .lead
        guard current.next.contains(target) else {
            let allowed = current.next.map(\.name).joined(separator: ", ")
            throw RPCError(
                code: .failedPrecondition,
                message: "an opportunity at \(current.name) cannot move to \(target.name); allowed: \(allowed.isEmpty ? "nothing (final)" : allowed)",
                reason: .invalidTransition, processing: .notProcessed,
                details: ["stage": current.name, "allowed": current.next.map(\.name).joined(separator: ",")])
        }
        let at = nowMilliseconds
        try db.cachedStatement(
            sql: """
                UPDATE opportunity SET stage = ?, version = version + 1, updated_at_ms = ?,
                    expected_close_date = CASE WHEN ? != '' THEN ? ELSE expected_close_date END,
                    closed_at_ms = CASE WHEN ? THEN ? ELSE NULL END,
                    lost_reason = CASE WHEN ? = \(OpportunityStage.lost.rawValue) THEN ? ELSE lost_reason END
                WHERE key = ?
                """
        ).execute(arguments: [target.rawValue, at, closeDate, closeDate, !target.isOpen, at, target.rawValue, reason, key])
        let probabilities = try Self.probabilities(db)
        try record(key: key, from: current, to: target, probability: probabilities[target] ?? 0, actor: actor, reason: reason, at: at, db)
        var response = Crm_Marketing_V1_MoveOpportunityResponse()
        response.opportunity = try load(key, probabilities: probabilities, db)
        try publish("opportunity.moved", response.opportunity, db)
        return response
    }

    public func list(_ request: Crm_Marketing_V1_ListOpportunitiesRequest, _ db: Database) throws -> Crm_Marketing_V1_ListOpportunitiesResponse {
        var violations = FieldViolations()
        let size = violations.pageSize(request.pageSize, max: 500, defaultSize: 50)
        let after = violations.pageToken(request.pageToken)
        let column: String
        let value: String
        switch request.owner {
        case .ownerRmID(let id):
            (column, value) = ("owner_rm_id", violations.code(id, "ownerRmId", max: 20, required: true))
        case .customerID(let id):
            (column, value) = ("customer_id", violations.code(id, "customerId", max: 20, required: true))
        case nil:
            violations.add("ownerRmId", "or customerId is required")
            (column, value) = ("", "")
        }
        try violations.throwIfAny()
        let closedFilter = request.includeClosed ? "" : " AND closed_at_ms IS NULL"
        let keys = try Int64.fetchAll(
            db.cachedStatement(sql: "SELECT key FROM opportunity WHERE \(column) = ?\(closedFilter) AND key > ? ORDER BY key LIMIT ?"),
            arguments: [value, after, size + 1])
        let probabilities = try Self.probabilities(db)
        var response = Crm_Marketing_V1_ListOpportunitiesResponse()
        response.opportunities = try keys.prefix(size).map { try load($0, probabilities: probabilities, db) }
        if keys.count > size { response.nextPageToken = PageToken.token(afterKey: keys[size - 1]) }
        return response
    }

    // MARK: Probabilities

    /// The probability of every stage: the ones set, else the defaults; won 100, lost 0.
    static func probabilities(_ db: Database) throws -> [OpportunityStage: Int] {
        var result = OpportunityStage.defaultProbabilities
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT stage, percent FROM stage_probability")) {
            if let stage = OpportunityStage(rawValue: row[0]) { result[stage] = row[1] }
        }
        result[.won] = 100
        result[.lost] = 0
        return result
    }

    public func setProbabilities(
        _ request: Crm_Marketing_V1_SetStageProbabilitiesRequest, _ db: Database
    ) throws -> Crm_Marketing_V1_SetStageProbabilitiesResponse {
        var violations = FieldViolations()
        var seen = Set<OpportunityStage>()
        for (index, entry) in request.probabilities.enumerated() {
            let field = "probabilities[\(index)]"
            guard let stage = OpportunityStage(entry.stage), stage.isOpen else {
                violations.add(field + ".stage", "must be an open stage (WON is 100 and LOST 0)")
                continue
            }
            if !seen.insert(stage).inserted { violations.add(field + ".stage", "repeats an earlier stage") }
            if entry.percent > 100 { violations.add(field + ".percent", "must be 0 to 100") }
        }
        try violations.throwIfAny()
        for entry in request.probabilities {
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO stage_probability (stage, percent) VALUES (?, ?)").execute(
                arguments: [entry.stage.rawValue, entry.percent])
        }
        let probabilities = try Self.probabilities(db)
        // Open opportunities at a changed stage are worth something else now: say so on the feed.
        let changed = request.probabilities.map(\.stage.rawValue)
        if !changed.isEmpty {
            let keys = try Int64.fetchAll(
                db, sql: "SELECT key FROM opportunity WHERE closed_at_ms IS NULL AND stage IN (\(changed.map(String.init).joined(separator: ","))) ORDER BY key")
            for key in keys { try publish("opportunity.reweighted", try load(key, probabilities: probabilities, db), db) }
        }
        var response = Crm_Marketing_V1_SetStageProbabilitiesResponse()
        response.probabilities = OpportunityStage.allCases.map { stage in
            var entry = Crm_Marketing_V1_StageProbability()
            (entry.stage, entry.percent) = (stage.proto, UInt32(probabilities[stage] ?? 0))
            return entry
        }
        try ChangeLog.append(type: "stage_probabilities.set", entityKey: "stage_probabilities", payload: response, atMilliseconds: nowMilliseconds, db)
        return response
    }

    // MARK: Storage

    func load(_ key: Int64, probabilities: [OpportunityStage: Int], _ db: Database) throws -> Crm_Marketing_V1_Opportunity {
        guard let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT customer_id, product, amount_minor, currency, stage, owner_rm_id, branch_id, expected_close_date, referred_by_rm_id,
                        version, created_at_ms, updated_at_ms, lost_reason FROM opportunity WHERE key = ?
                    """),
            arguments: [key])
        else { throw Self.opportunityIDs.notFound(Self.opportunityIDs.id(key)) }
        var opportunity = Crm_Marketing_V1_Opportunity()
        opportunity.id = Self.opportunityIDs.id(key)
        (opportunity.customerID, opportunity.product, opportunity.amountMinor, opportunity.currency) = (row[0], row[1], row[2], row[3])
        let stage = OpportunityStage(rawValue: row[4]) ?? .lead
        opportunity.stage = stage.proto
        let percent = probabilities[stage] ?? 0
        opportunity.probabilityPercent = UInt32(percent)
        opportunity.weightedAmountMinor = OpportunityStage.weighted(opportunity.amountMinor, percent: percent)
        (opportunity.ownerRmID, opportunity.branchID, opportunity.expectedCloseDate, opportunity.referredByRmID) = (row[5], row[6], row[7], row[8])
        (opportunity.version, opportunity.createdAt.milliseconds, opportunity.updatedAt.milliseconds, opportunity.lostReason) = (row[9], row[10], row[11], row[12])
        return opportunity
    }

    func record(key: Int64, from: OpportunityStage, to: OpportunityStage, probability: Int, actor: String, reason: String, at: Int64, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO opportunity_stage (opportunity_key, from_stage, to_stage, probability, actor, reason, at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [key, from.rawValue, to.rawValue, probability, actor, reason, at])
    }

    func publish(_ type: String, _ opportunity: Crm_Marketing_V1_Opportunity, _ db: Database) throws {
        var payload = Crm_Marketing_V1_OpportunityChanged()
        payload.opportunity = opportunity
        try ChangeLog.append(type: type, entityKey: opportunity.id, payload: payload, atMilliseconds: nowMilliseconds, db)
    }
}

extension FieldViolations {
    /// A product code such as "wealth/fund-a": 1 to 60 characters of letters, digits, `-`, `_` and `/`.
    mutating func product(_ value: String) -> String {
        let trimmed = value.trimmingWhitespace()
        if trimmed.isEmpty || trimmed.utf8.count > 60
            || !trimmed.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_/".unicodeScalars.contains($0)) })
        {
            add("product", "must be 1 to 60 characters of letters, digits, -, _ and /")
        }
        return trimmed
    }

    /// An amount in a currency's minor unit, 1 to 10^13, with its ISO 4217 code.
    mutating func amount(_ minor: Int64, currency: String) {
        if !(1...10_000_000_000_000).contains(minor) { add("amountMinor", "must be 1 to 10^13") }
        if currency.utf8.count != 3 || !currency.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) {
            add("currency", "must be an ISO 4217 code such as CNY")
        }
    }

    /// A YYYY-MM-DD date that exists (``LocalDate``).
    mutating func date(_ value: String, _ field: String, required: Bool) -> String {
        if value.isEmpty {
            if required { add(field, "is required (YYYY-MM-DD)") }
        } else if LocalDate(value) == nil {
            add(field, "must be a date YYYY-MM-DD")
        }
        return value
    }
}
