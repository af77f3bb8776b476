public import ServiceRuntime
internal import Foundation
public import GRDB
public import WireProtocol
public import CRMAPI

extension CustomerDirectory {
    public func linkSubsidiary(_ request: Crm_Customer_V1_LinkSubsidiaryRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_LinkSubsidiaryResponse {
        let parentKey = try Self.key(request.parentID, field: "parentId")
        let childKey = try Self.key(request.subsidiaryID, field: "subsidiaryId")
        for (key, id) in [(parentKey, request.parentID), (childKey, request.subsidiaryID)] {
            try requireLiveCorporate(key, id: id, db)
        }
        let ancestors = try Self.ancestors(of: parentKey, db)
        guard parentKey != childKey, !ancestors.contains(childKey) else {
            throw RPCError(
                code: .failedPrecondition, message: "\(request.subsidiaryID) is above \(request.parentID) in its group: the link would make a cycle",
                reason: .groupCycle, processing: .notProcessed)
        }
        let current = try Int64.fetchOne(db, sql: "SELECT parent_key FROM corporate_link WHERE customer_key = ?", arguments: [childKey])
        guard current != parentKey else { return .init() }
        let time = nowMilliseconds
        try db.execute(
            sql: """
                INSERT INTO corporate_link (customer_key, parent_key, linked_at_ms) VALUES (?, ?, ?)
                ON CONFLICT (customer_key) DO UPDATE SET parent_key = excluded.parent_key, linked_at_ms = excluded.linked_at_ms
                """,
            arguments: [childKey, parentKey, time])
        try AuditLog.append(
            [.init(customerKey: childKey, action: "group", field: "parent", before: current.map(CustomerRecords.customerID) ?? "", after: request.parentID)],
            caller: caller, atMilliseconds: time, db)
        return .init()
    }

    public func unlinkSubsidiary(_ request: Crm_Customer_V1_UnlinkSubsidiaryRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_UnlinkSubsidiaryResponse {
        let childKey = try Self.key(request.subsidiaryID, field: "subsidiaryId")
        if let parent = try Int64.fetchOne(db, sql: "SELECT parent_key FROM corporate_link WHERE customer_key = ?", arguments: [childKey]) {
            try db.execute(sql: "DELETE FROM corporate_link WHERE customer_key = ?", arguments: [childKey])
            try AuditLog.append(
                [.init(customerKey: childKey, action: "group", field: "parent", before: CustomerRecords.customerID(parent), after: "")],
                caller: caller, atMilliseconds: nowMilliseconds, db)
        }
        return .init()
    }

    public func setGroupCreditLimit(_ request: Crm_Customer_V1_SetGroupCreditLimitRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_SetGroupCreditLimitResponse {
        let rootKey = try Self.key(request.groupRootID, field: "groupRootId")
        var problems = FieldViolations()
        if request.limitMinor < 0 { problems.add("limitMinor", "must not be negative") }
        try problems.throwIfAny()
        try requireLiveCorporate(rootKey, id: request.groupRootID, db)
        if let parent = try Int64.fetchOne(db, sql: "SELECT parent_key FROM corporate_link WHERE customer_key = ?", arguments: [rootKey]) {
            throw RPCError(
                code: .failedPrecondition,
                message: "\(request.groupRootID) is a subsidiary of \(CustomerRecords.customerID(parent)); set the limit on the group's top parent",
                reason: .notGroupRoot, processing: .notProcessed)
        }
        let before = try Int64.fetchOne(db, sql: "SELECT limit_minor FROM group_credit_limit WHERE customer_key = ?", arguments: [rootKey])
        guard before != request.limitMinor, !(before == nil && request.limitMinor == 0) else { return .init() }
        let time = nowMilliseconds
        if request.limitMinor == 0 {
            try db.execute(sql: "DELETE FROM group_credit_limit WHERE customer_key = ?", arguments: [rootKey])
        } else {
            try db.execute(
                sql: """
                    INSERT INTO group_credit_limit (customer_key, limit_minor, set_at_ms) VALUES (?, ?, ?)
                    ON CONFLICT (customer_key) DO UPDATE SET limit_minor = excluded.limit_minor, set_at_ms = excluded.set_at_ms
                    """,
                arguments: [rootKey, request.limitMinor, time])
        }
        try AuditLog.append(
            [.init(customerKey: rootKey, action: "group", field: "groupCreditLimitMinor", before: before.map(String.init) ?? "", after: String(request.limitMinor))],
            caller: caller, atMilliseconds: time, db)
        return .init()
    }

    public static let maxGroupMembers = 10_000

    public func getCorporateGroup(_ request: Crm_Customer_V1_GetCorporateGroupRequest, _ db: Database) throws -> Crm_Customer_V1_GetCorporateGroupResponse {
        let key = try Self.key(request.customerID, field: "customerId")
        guard try Bool.fetchOne(db, sql: "SELECT 1 FROM customer WHERE key = ?", arguments: [key]) != nil else {
            throw CustomerErrors.notFound(request.customerID)
        }
        let root = try Self.ancestors(of: key, db).last ?? key
        let rows = try Row.fetchAll(
            db,
            sql: """
                WITH RECURSIVE tree(key, parent, depth, path) AS (
                    SELECT ?, NULL, 0, printf('%010d', ?)
                    UNION ALL
                    SELECT l.customer_key, l.parent_key, tree.depth + 1, tree.path || '/' || printf('%010d', l.customer_key)
                    FROM corporate_link l JOIN tree ON l.parent_key = tree.key
                    LIMIT \(Self.maxGroupMembers))
                SELECT tree.key, tree.parent, tree.depth, c.legal_name,
                    (SELECT coalesce(sum(a.reporting_balance_minor), 0) FROM account_holder h JOIN account a ON a.account_number = h.account_number
                     WHERE h.customer_key = tree.key AND a.closed_on = '' AND h.role IN \(Grading.ownedRoles)
                       AND a.product_type NOT IN \(Grading.liabilityTypes)) AS deposits,
                    (SELECT coalesce(sum(a.reporting_balance_minor), 0) FROM account_holder h JOIN account a ON a.account_number = h.account_number
                     WHERE h.customer_key = tree.key AND a.closed_on = '' AND a.product_type IN \(Grading.liabilityTypes)) AS exposure
                FROM tree JOIN customer c ON c.key = tree.key ORDER BY tree.path
                """,
            arguments: [root, root])
        var response = Crm_Customer_V1_GetCorporateGroupResponse()
        response.rootID = CustomerRecords.customerID(root)
        for row in rows {
            var member = Crm_Customer_V1_GroupMember()
            member.customerID = CustomerRecords.customerID(row["key"])
            member.legalName = row["legal_name"]
            if let parent: Int64 = row["parent"] { member.parentID = CustomerRecords.customerID(parent) }
            member.depth = row["depth"]
            member.depositsMinor = row["deposits"]
            member.loanExposureMinor = row["exposure"]
            response.members.append(member)
        }
        // Group totals count each account once, even if two members hold it (a loan one member owes
        // and another guarantees is one exposure).
        let keys = rows.map { String($0["key"] as Int64) }.joined(separator: ",")
        let totals = try Row.fetchOne(
            db,
            sql: """
                SELECT coalesce(sum(CASE WHEN product_type NOT IN \(Grading.liabilityTypes) AND owned THEN reporting_balance_minor END), 0) AS deposits,
                       coalesce(sum(CASE WHEN product_type IN \(Grading.liabilityTypes) THEN reporting_balance_minor END), 0) AS exposure
                FROM (SELECT a.product_type, a.reporting_balance_minor, max(h.role IN \(Grading.ownedRoles)) AS owned
                      FROM account_holder h JOIN account a ON a.account_number = h.account_number
                      WHERE h.customer_key IN (\(keys)) AND a.closed_on = '' GROUP BY a.account_number)
                """)
        response.groupDepositsMinor = totals?["deposits"] ?? 0
        response.groupLoanExposureMinor = totals?["exposure"] ?? 0
        response.groupCreditLimitMinor = try Int64.fetchOne(
            db, sql: "SELECT limit_minor FROM group_credit_limit WHERE customer_key = ?", arguments: [root]) ?? 0
        response.overLimit = response.groupCreditLimitMinor > 0 && response.groupLoanExposureMinor > response.groupCreditLimitMinor
        return response
    }

    /// The parents of a corporate, nearest first, up to the group's top parent.
    static func ancestors(of key: Int64, _ db: Database) throws -> [Int64] {
        try Int64.fetchAll(
            db,
            sql: """
                WITH RECURSIVE up(key, depth) AS (
                    SELECT parent_key, 1 FROM corporate_link WHERE customer_key = ?
                    UNION ALL SELECT l.parent_key, up.depth + 1 FROM corporate_link l JOIN up ON l.customer_key = up.key
                    WHERE up.depth < \(maxGroupMembers))
                SELECT key FROM up ORDER BY depth
                """,
            arguments: [key])
    }

    /// Whether a customer takes part in a corporate group (as parent, subsidiary or limit holder),
    /// which a merge does not move.
    static func isInCorporateGroup(_ key: Int64, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: """
                SELECT EXISTS (SELECT 1 FROM corporate_link WHERE customer_key = ?1 OR parent_key = ?1)
                    OR EXISTS (SELECT 1 FROM group_credit_limit WHERE customer_key = ?1)
                """,
            arguments: [key]) ?? false
    }

    private func requireLiveCorporate(_ key: Int64, id: String, _ db: Database) throws {
        guard let customer = try CustomerRecords.load(key: key, db) else { throw CustomerErrors.notFound(id) }
        guard customer.status == .active || customer.status == .inactive else {
            throw CustomerErrors.wrongStatus(id, status: customer.status, action: "in a corporate group")
        }
        guard customer.profile.kind == .corporate else {
            throw RPCError(code: .failedPrecondition, message: "\(id) is not a corporate", reason: .notACorporate, processing: .notProcessed)
        }
    }
}
