internal import Foundation
public import GRDB
internal import ServiceRuntime
internal import WireProtocol
internal import CRMAPI

/// Change events: every change to a customer writes audit rows, so at the end of each change
/// transaction the audit rows it wrote say which customers changed and how. One event per changed
/// customer goes into the change log in the same transaction, carrying the customer as it is after
/// the change (``Crm_Customer_V1_CustomerChanged``). Nothing can change a customer without an
/// event, since nothing can change one without an audit row.
extension CustomerDirectory {
    /// Audit actions that record something other than a change of the customer (reads have their
    /// own log, ``AccessLog``, older databases hold `read` rows here too).
    static let actionsWithoutEvent: Set<String> = ["read", "read-audit", "dismiss-duplicate", "erase-applied"]

    /// Runs a change and appends, in the same transaction, the events of the customers it changed.
    public func publishingChanges<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        let before = try Int64.fetchOne(db.cachedStatement(sql: "SELECT sequence FROM audit_head WHERE id = 1")) ?? 0
        let result = try body()
        try publishChanges(afterAuditSequence: before, db)
        return result
    }

    func publishChanges(afterAuditSequence before: Int64, _ db: Database) throws {
        // One read of the rows the change wrote, the organisation's (customer 0) and customers'.
        let rows = try StatementRow.readAll(
            db.cachedStatement(sql: "SELECT customer_key, action, field FROM audit_log WHERE sequence > ? ORDER BY sequence"),
            arguments: [before]
        ) { row in (key: row[0] as Int64, action: row[1] as String, field: row[2] as String) }
        try publishReferenceChanges(rows.filter { $0.key == 0 }.map { ($0.action, $0.field) }, db)
        var actions: [Int64: [String]] = [:]
        var order: [Int64] = []
        for (key, action, _) in rows where key != 0 {
            guard !Self.actionsWithoutEvent.contains(action) else { continue }
            if actions[key] == nil { order.append(key) }
            if !(actions[key]?.contains(action) ?? false) { actions[key, default: []].append(action) }
        }
        let time = nowMilliseconds
        // Every event carries a version above the customer's previous event, so that a consumer
        // keeping the highest version it saw never drops one: a change that did not move the
        // version itself (accounts, consents, grades, households) moves it here, once per transaction.
        let advance = try db.cachedStatement(
            sql: """
                UPDATE customer SET
                    version = MAX(version, published_version + 1),
                    updated_at_ms = CASE WHEN version > published_version THEN updated_at_ms ELSE ? END,
                    published_version = MAX(version, published_version + 1)
                WHERE key = ?
                """)
        for key in order {
            try advance.execute(arguments: [time, key])
            guard let customer = try CustomerRecords.load(key: key, db) else { continue }
            let done = actions[key] ?? []
            let type: String
            if done.contains("create") || done.contains("import") {
                type = "customer.created"
            } else if done.contains("unmerge") {
                type = "customer.unmerged"
            } else if done.contains("merge") && customer.status == .merged {
                type = "customer.merged"
            } else if done.contains("erase") {
                type = "customer.erased"
            } else if done.contains("deactivate") {
                type = "customer.deactivated"
            } else if done.contains("reactivate") {
                type = "customer.reactivated"
            } else {
                type = "customer.updated"
            }
            var payload = Crm_Customer_V1_CustomerChanged()
            payload.id = customer.id
            payload.version = customer.version
            payload.status = customer.status
            payload.kind = customer.profile.kind
            payload.displayName = CustomerRecords.displayName(customer.profile)
            payload.nameZh = customer.profile.individual.nameZh
            payload.nameLatin = customer.profile.individual.nameLatin
            payload.birthDate = customer.profile.individual.birthDate
            payload.valueGrade = customer.valueGrade
            payload.creditGrade = customer.creditGrade
            payload.lifecycleStage = customer.lifecycleStage
            payload.relationshipManagerID = customer.profile.relationshipManagerID
            payload.branchID = customer.profile.branchID
            payload.consents = try consents(key: key, includeHistory: false, db).current
            payload.mergedIntoID = customer.mergedInto
            payload.actions = done
            payload.accounts = try AccountRecords.holdings(customerKey: key, db)
                .filter { $0.closedOn.isEmpty && ($0.role == .owner || $0.role == .jointOwner) }
                .map { holding in
                    var account = Crm_Customer_V1_HeldAccount()
                    (account.accountNumber, account.productType, account.maturityDate) = (holding.accountNumber, holding.productType, holding.maturityDate)
                    (account.reportingBalanceMinor, account.monthlyContributionMinor) = (holding.reportingBalanceMinor, holding.monthlyContributionMinor)
                    return account
                }
            // Grading's assets and contribution (`Grading.facts`), summed from the open owned
            // accounts just read rather than queried again.
            payload.reportingAssetsMinor = payload.accounts.filter { $0.productType != .loan && $0.productType != .card }
                .reduce(0) { $0 + $1.reportingBalanceMinor }
            payload.monthlyContributionMinor = payload.accounts.reduce(0) { $0 + $1.monthlyContributionMinor }
            // An erasure also reaches the events already published: none keeps the old names.
            if type == "customer.erased" { try ChangeLog.redact(entityKey: customer.id, payload: payload, db) }
            try ChangeLog.append(type: type, entityKey: customer.id, payload: payload, atMilliseconds: time, db)
        }
    }

    /// Org units and relationship managers (the hierarchy Marketing's reports roll up through):
    /// `org.unit.changed` with an OrgUnit, `org.manager.changed` with a RelationshipManager, from
    /// the change's audit rows of customer 0 (action and field).
    private func publishReferenceChanges(_ rows: [(action: String, field: String)], _ db: Database) throws {
        let time = nowMilliseconds
        for (action, field) in rows where action == "org-unit" || action == "relationship-manager" {
            // "units[BJ-01]" or "managers[RM001]"
            guard let open = field.firstIndex(of: "["), field.hasSuffix("]") else { continue }
            let id = String(field[field.index(after: open)..<field.index(before: field.endIndex)])
            if action == "org-unit" {
                guard let unit = try Self.orgUnit(id, db) else { continue }
                try ChangeLog.append(type: "org.unit.changed", entityKey: "unit:\(id)", payload: unit, atMilliseconds: time, db)
            } else {
                guard let manager = try Self.relationshipManager(id, db) else { continue }
                try ChangeLog.append(type: "org.manager.changed", entityKey: "manager:\(id)", payload: manager, atMilliseconds: time, db)
            }
        }
    }
}
