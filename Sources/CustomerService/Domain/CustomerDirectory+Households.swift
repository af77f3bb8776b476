public import ServiceRuntime
internal import Foundation
public import GRDB
public import WireProtocol
public import CRMAPI

extension CustomerDirectory {
    public static let maxHouseholdMembers = 20

    /// "H" and the key in 10 digits.
    static func householdID(_ key: Int64) -> String { "H" + CustomerRecords.customerID(key).dropFirst() }

    static func householdKey(_ id: String, field: String) throws -> Int64 {
        guard id.hasPrefix("H"), let key = CustomerRecords.key(fromID: "C" + id.dropFirst()) else {
            throw RPCError(
                code: .invalidArgument, message: "\(field) must be H followed by 10 digits", reason: .invalidField,
                processing: .notProcessed, fieldViolations: [.init(field: field, description: "must be H followed by 10 digits")])
        }
        return key
    }

    public func createHousehold(_ request: Crm_Customer_V1_CreateHouseholdRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_HouseholdResponse {
        var problems = FieldViolations()
        let name = problems.text(request.name, "name", max: 100, required: true)
        if request.members.isEmpty || request.members.count > Self.maxHouseholdMembers {
            problems.add("members", "must hold 1 to \(Self.maxHouseholdMembers) members")
        }
        try problems.throwIfAny()
        let time = nowMilliseconds
        try db.cachedStatement(sql: "INSERT INTO household (name, created_at_ms) VALUES (?, ?)").execute(arguments: [name, time])
        let householdKey = db.lastInsertedRowID
        var seen: Set<String> = []
        for (index, member) in request.members.enumerated() {
            guard seen.insert(member.customerID).inserted else {
                throw RPCError(
                    code: .invalidArgument, message: "members[\(index)].customerId repeats an earlier member", reason: .invalidField,
                    processing: .notProcessed, fieldViolations: [.init(field: "members[\(index)].customerId", description: "repeats an earlier member")])
            }
            try addMember(member, householdKey: householdKey, field: "members[\(index)]", caller: caller, time: time, db)
        }
        return try household(householdKey, db)
    }

    public func setHouseholdMember(_ request: Crm_Customer_V1_SetHouseholdMemberRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_HouseholdResponse {
        let householdKey = try Self.householdKey(request.householdID, field: "householdId")
        guard try Bool.fetchOne(db.cachedStatement( sql: "SELECT 1 FROM household WHERE household_key = ?"), arguments: [householdKey]) != nil else {
            throw householdNotFound(request.householdID)
        }
        try addMember(request.member, householdKey: householdKey, field: "member", caller: caller, time: nowMilliseconds, db)
        return try household(householdKey, db)
    }

    public func removeHouseholdMember(_ request: Crm_Customer_V1_RemoveHouseholdMemberRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_HouseholdResponse {
        let householdKey = try Self.householdKey(request.householdID, field: "householdId")
        let customerKey = try Self.key(request.customerID, field: "customerId")
        try db.cachedStatement(
            sql: "DELETE FROM household_member WHERE household_key = ? AND customer_key = ?").execute(arguments: [householdKey, customerKey])
        if db.changesCount > 0 {
            try AuditLog.append(
                [.init(customerKey: customerKey, action: "household", field: "household", before: request.householdID, after: "")],
                caller: caller, atMilliseconds: nowMilliseconds, db)
        }
        let response = try household(householdKey, db)
        if response.household.members.isEmpty {
            try db.cachedStatement(sql: "DELETE FROM household WHERE household_key = ?").execute(arguments: [householdKey])
        }
        return response
    }

    public func getHousehold(_ request: Crm_Customer_V1_GetHouseholdRequest, _ db: Database) throws -> Crm_Customer_V1_HouseholdResponse {
        try household(try Self.householdKey(request.householdID, field: "householdId"), db)
    }

    private func householdNotFound(_ id: String) -> RPCError {
        RPCError(code: .notFound, message: "no household \(id)", reason: .householdNotFound, processing: .notProcessed)
    }

    private func addMember(
        _ member: Crm_Customer_V1_HouseholdMember, householdKey: Int64, field: String, caller: Caller, time: Int64, _ db: Database
    ) throws {
        let customerKey = try Self.key(member.customerID, field: "\(field).customerId")
        var problems = FieldViolations()
        problems.enumeration(
            known: { if case .UNRECOGNIZED = member.role { false } else { true } }(), isUnspecified: member.role == .unspecified,
            "\(field).role", required: true)
        try problems.throwIfAny()
        guard let customer = try CustomerRecords.load(key: customerKey, db) else { throw CustomerErrors.notFound(member.customerID) }
        guard customer.status == .active || customer.status == .inactive else {
            throw CustomerErrors.wrongStatus(member.customerID, status: customer.status, action: "a household member")
        }
        guard customer.profile.kind == .individual else {
            throw RPCError(
                code: .failedPrecondition, message: "\(member.customerID) is not an individual", reason: .notAPerson,
                processing: .notProcessed)
        }
        let current = try Row.fetchOne(db.cachedStatement( sql: "SELECT household_key, role FROM household_member WHERE customer_key = ?"), arguments: [customerKey])
        if let current, (current["household_key"] as Int64) != householdKey {
            throw RPCError(
                code: .failedPrecondition,
                message: "\(member.customerID) already belongs to household \(Self.householdID(current["household_key"]))",
                reason: .inAnotherHousehold, processing: .notProcessed)
        }
        if member.role == .head,
            let head = try Int64.fetchOne(
                db.cachedStatement( sql: "SELECT customer_key FROM household_member WHERE household_key = ? AND role = ?"),
                arguments: [householdKey, Crm_Customer_V1_HouseholdRole.head.rawValue]),
            head != customerKey
        {
            throw RPCError(
                code: .failedPrecondition, message: "the household already has a head, \(CustomerRecords.customerID(head))",
                reason: .householdHasHead, processing: .notProcessed)
        }
        let oldRole = current.map { Crm_Customer_V1_HouseholdRole(rawValue: $0["role"]) ?? .unspecified }
        guard oldRole != member.role else { return }
        try db.cachedStatement(
            sql: """
                INSERT INTO household_member (customer_key, household_key, role) VALUES (?, ?, ?)
                ON CONFLICT (customer_key) DO UPDATE SET role = excluded.role
                """).execute(arguments: [customerKey, householdKey, member.role.rawValue])
        try AuditLog.append(
            [.init(
                customerKey: customerKey, action: "household", field: "household",
                before: oldRole.map { "\(Self.householdID(householdKey)) \($0)" } ?? "", after: "\(Self.householdID(householdKey)) \(member.role)")],
            caller: caller, atMilliseconds: time, db)
    }

    func household(_ householdKey: Int64, _ db: Database) throws -> Crm_Customer_V1_HouseholdResponse {
        guard let name = try String.fetchOne(db.cachedStatement( sql: "SELECT name FROM household WHERE household_key = ?"), arguments: [householdKey]) else {
            throw householdNotFound(Self.householdID(householdKey))
        }
        var response = Crm_Customer_V1_HouseholdResponse()
        response.household.id = Self.householdID(householdKey)
        response.household.name = name
        response.household.members = try StatementRow.readAll(
            db.cachedStatement(
            sql: """
                SELECT m.customer_key, m.role, c.display_name FROM household_member m JOIN customer c ON c.key = m.customer_key
                WHERE m.household_key = ? ORDER BY m.role, m.customer_key
                """),
            arguments: [householdKey]
        ) { row in
            var member = Crm_Customer_V1_HouseholdMember()
            member.customerID = CustomerRecords.customerID(row["customer_key"])
            member.role = .init(rawValue: row["role"]) ?? .unspecified
            member.displayName = row["display_name"]
            return member
        }
        // Each open account once, however many members hold it; an asset counts if any member owns it.
        let totals = try Row.fetchOne(
            db.cachedStatement(
            sql: """
                SELECT count(*) AS accounts,
                       sum(CASE WHEN product_type NOT IN \(Grading.liabilityTypes) AND owned THEN reporting_balance_minor ELSE 0 END) AS assets,
                       sum(CASE WHEN product_type IN \(Grading.liabilityTypes) AND owned THEN reporting_balance_minor ELSE 0 END) AS liabilities
                FROM (
                    SELECT a.account_number, a.product_type, a.reporting_balance_minor, max(h.role IN \(Grading.ownedRoles)) AS owned
                    FROM household_member m
                    JOIN account_holder h ON h.customer_key = m.customer_key
                    JOIN account a ON a.account_number = h.account_number
                    WHERE m.household_key = ? AND a.closed_on = ''
                    GROUP BY a.account_number)
                """),
            arguments: [householdKey])
        response.openAccounts = totals?["accounts"] ?? 0
        response.reportingAssetsMinor = totals?["assets"] ?? 0
        response.reportingLiabilitiesMinor = totals?["liabilities"] ?? 0
        return response
    }
}
