internal import ServiceRuntime
public import Foundation
public import GRDB
public import WireProtocol

/// The rules of customer master data, as plain functions over one database transaction: the
/// handlers decide which transaction (and idempotency) a call runs in, these decide what it does.
///
/// Every change bumps the customer's version, refuses a stale `expected_version`, keeps identity
/// documents unique among live customers and writes its audit rows in the same transaction.
public struct CustomerDirectory: Sendable {
    /// The current time; tests fix it.
    public var now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    var nowMilliseconds: Int64 { Int64((now().timeIntervalSince1970 * 1000).rounded()) }
    var validator: ProfileValidator { ProfileValidator(today: CalendarDate.today(now: now())) }

    // MARK: Create

    public func create(_ request: Crm_Customer_V1_CreateCustomerRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_CreateCustomerResponse {
        let profile = try validator.validated(request.profile)
        try checkDocumentsFree(profile, excluding: nil, db)
        try checkPlacement(relationshipManagerID: profile.relationshipManagerID, branchID: profile.branchID, fieldPrefix: "profile.", db)
        let duplicates = try DuplicateFinder.candidates(for: profile, excluding: nil, db)
        let time = nowMilliseconds
        let key = try CustomerRecords.insert(profile, lifecycle: .prospect, now: time, db)
        try recordAssignment(
            customerKey: key, relationshipManagerID: profile.relationshipManagerID, branchID: profile.branchID, reason: "customer created",
            caller: caller, time: time, db)
        try AuditLog.append(
            [.init(customerKey: key, action: "create", field: "profile", before: "", after: ProfileDiff.json(profile))],
            caller: caller, atMilliseconds: time, db)
        var response = Crm_Customer_V1_CreateCustomerResponse()
        response.customer = try view(key: key, caller: caller, db)
        response.possibleDuplicates = duplicates
        return response
    }

    // MARK: Read

    /// Whether a read by this caller must run in a write transaction (it returns unmasked personal
    /// data, so it writes an audit row).
    public func readIsAudited(by caller: Caller) -> Bool { caller.seesPersonalData }

    public func get(_ request: Crm_Customer_V1_GetCustomerRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_GetCustomerResponse {
        let key = try Self.key(request.id, field: "id")
        guard let customer = try CustomerRecords.load(key: key, db) else { throw CustomerErrors.notFound(request.id) }
        var response = Crm_Customer_V1_GetCustomerResponse()
        response.customer = try presented(customer, key: key, caller: caller, db)
        return response
    }

    public func search(_ request: Crm_Customer_V1_SearchCustomersRequest, _ db: Database) throws -> Crm_Customer_V1_SearchCustomersResponse {
        try CustomerSearch.run(try CustomerSearch.query(from: request), db)
    }

    // MARK: Update

    public func update(_ request: Crm_Customer_V1_UpdateCustomerRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_UpdateCustomerResponse {
        let key = try Self.key(request.id, field: "id")
        let profile = try validator.validated(request.profile)
        let current = try loadForChange(key: key, id: request.id, expectedVersion: request.expectedVersion, db)
        guard current.status == .active || current.status == .inactive else {
            throw CustomerErrors.wrongStatus(request.id, status: current.status, action: "updated")
        }
        guard profile.kind == current.profile.kind else {
            throw RPCError(
                code: .invalidArgument, message: "profile.kind cannot change", reason: "INVALID_FIELD", processing: .notProcessed,
                fieldViolations: [.init(field: "profile.kind", description: "cannot change")])
        }
        try checkDocumentsFree(profile, excluding: key, db)
        if profile.relationshipManagerID != current.profile.relationshipManagerID || profile.branchID != current.profile.branchID {
            try checkPlacement(relationshipManagerID: profile.relationshipManagerID, branchID: profile.branchID, fieldPrefix: "profile.", db)
        }
        let changes = ProfileDiff.profileChanges(from: current.profile, to: profile)
        var response = Crm_Customer_V1_UpdateCustomerResponse()
        if !changes.isEmpty {
            let time = nowMilliseconds
            try CustomerRecords.replaceProfile(key: key, profile, previous: current.profile, version: current.version + 1, now: time, db)
            try recordAssignment(
                customerKey: key, relationshipManagerID: profile.relationshipManagerID, branchID: profile.branchID, reason: "profile updated",
                caller: caller, time: time, db)
            try AuditLog.append(
                changes.map { .init(customerKey: key, action: "update", field: $0.field, before: $0.before, after: $0.after) },
                caller: caller, atMilliseconds: time, db)
            // Only a change to what duplicates are found by can make this customer a new duplicate.
            if DuplicateFinder.comparedFieldsDiffer(profile, current.profile) {
                response.possibleDuplicates = try DuplicateFinder.candidates(for: profile, excluding: key, db)
            }
        }
        response.customer = try view(key: key, caller: caller, db)
        return response
    }

    // MARK: Deactivate and reactivate

    public func setActive(
        _ active: Bool, _ request: Crm_Customer_V1_SetCustomerActiveRequest, caller: Caller, _ db: Database
    ) throws -> Crm_Customer_V1_SetCustomerActiveResponse {
        let key = try Self.key(request.id, field: "id")
        var problems = FieldViolations()
        let reason = problems.text(request.reason, "reason", max: 200, required: true)
        try problems.throwIfAny()
        let current = try loadForChange(key: key, id: request.id, expectedVersion: request.expectedVersion, db)
        let from: Crm_Customer_V1_CustomerStatus = active ? .inactive : .active
        let to: Crm_Customer_V1_CustomerStatus = active ? .active : .inactive
        guard current.status == from else {
            throw CustomerErrors.wrongStatus(request.id, status: current.status, action: active ? "reactivated" : "deactivated")
        }
        let time = nowMilliseconds
        try CustomerRecords.setStatus(key: key, to, version: current.version + 1, now: time, db)
        try AuditLog.append(
            [
                .init(customerKey: key, action: active ? "reactivate" : "deactivate", field: "status", before: from.name, after: to.name),
                .init(customerKey: key, action: active ? "reactivate" : "deactivate", field: "reason", before: "", after: reason),
            ],
            caller: caller, atMilliseconds: time, db)
        var response = Crm_Customer_V1_SetCustomerActiveResponse()
        response.customer = try view(key: key, caller: caller, db)
        return response
    }

    // MARK: Audit

    public func verifyAudit(_ db: Database) throws -> Crm_Customer_V1_VerifyAuditResponse {
        let verification = try AuditLog.verify(db)
        var response = Crm_Customer_V1_VerifyAuditResponse()
        response.intact = verification.firstBrokenSequence == nil
        response.rowsChecked = verification.rowsChecked
        response.firstBrokenSequence = UInt64(verification.firstBrokenSequence ?? 0)
        response.problem = verification.problem
        return response
    }

    public static let maxAuditPageSize: UInt32 = 500

    /// A customer's audit trail. It holds personal data, so only roles that see personal data may
    /// read it, and the reading is itself audited.
    public func listAudit(_ request: Crm_Customer_V1_ListAuditRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_ListAuditResponse {
        let key = try Self.key(request.customerID, field: "customerId")
        var problems = FieldViolations()
        let pageSize = problems.pageSize(request.pageSize, max: Self.maxAuditPageSize, defaultSize: 100)
        let after = problems.pageToken(request.pageToken)
        try problems.throwIfAny()
        guard caller.seesPersonalData else {
            throw CustomerErrors.permissionDenied("the audit trail holds personal data; role \"\(caller.role)\" may not read it")
        }
        guard try Bool.fetchOne(db, sql: "SELECT 1 FROM customer WHERE key = ?", arguments: [key]) != nil else {
            throw CustomerErrors.notFound(request.customerID)
        }
        let rows = try Row.fetchAll(
            db, sql: "SELECT * FROM audit_log WHERE customer_key = ? AND sequence > ? ORDER BY sequence LIMIT ?",
            arguments: [key, after, pageSize + 1])
        var response = Crm_Customer_V1_ListAuditResponse()
        for row in rows.prefix(pageSize) {
            var entry = Crm_Customer_V1_AuditEntry()
            entry.sequence = row["sequence"]
            entry.atMs = row["at_ms"]
            entry.callerSystem = row["caller_system"]
            entry.endUser = row["end_user"]
            entry.requestID = row["request_id"]
            entry.customerID = request.customerID
            entry.action = row["action"]
            entry.field = row["field"]
            entry.before = row["before"]
            entry.after = row["after"]
            response.entries.append(entry)
        }
        if rows.count > pageSize, let last = response.entries.last {
            response.nextPageToken = PageToken.token(afterKey: Int64(last.sequence))
        }
        try AuditLog.append(
            [.init(customerKey: key, action: "read-audit", field: "*", before: "", after: "")], caller: caller,
            atMilliseconds: nowMilliseconds, db)
        return response
    }

    // MARK: Helpers

    static func key(_ id: String, field: String) throws -> Int64 {
        guard let key = CustomerRecords.key(fromID: id) else { throw CustomerErrors.invalidID(field, id) }
        return key
    }

    func loadForChange(key: Int64, id: String, expectedVersion: Int64, _ db: Database) throws -> Crm_Customer_V1_Customer {
        guard let current = try CustomerRecords.load(key: key, db) else { throw CustomerErrors.notFound(id) }
        guard current.version == expectedVersion else {
            throw CustomerErrors.staleVersion(id, expected: expectedVersion, current: current.version)
        }
        return current
    }

    private func checkDocumentsFree(_ profile: Crm_Customer_V1_CustomerProfile, excluding: Int64?, _ db: Database) throws {
        for (index, document) in profile.documents.enumerated() {
            if let holder = try CustomerRecords.liveHolder(of: document, excluding: excluding, db) {
                throw CustomerErrors.duplicateDocument(field: "profile.documents[\(index)].number", holder: CustomerRecords.customerID(holder))
            }
        }
    }

    /// The customer as this caller may see it; an unmasked answer is audited as a read.
    func presented(_ customer: Crm_Customer_V1_Customer, key: Int64, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_Customer {
        guard caller.seesPersonalData else { return Masking.masked(customer) }
        try AuditLog.append(
            [.init(customerKey: key, action: "read", field: "*", before: "", after: "")], caller: caller,
            atMilliseconds: nowMilliseconds, db)
        return customer
    }

    /// The customer after a change, for the answer: the writer already sees it, so a caller who
    /// sees personal data gets it without a separate read audit.
    func view(key: Int64, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_Customer {
        guard let customer = try CustomerRecords.load(key: key, db) else { throw CustomerErrors.notFound(CustomerRecords.customerID(key)) }
        return caller.seesPersonalData ? customer : Masking.masked(customer)
    }
}
