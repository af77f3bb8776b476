public import ServiceRuntime
public import Foundation
public import GRDB
public import WireProtocol
public import CRMAPI

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

    public func get(_ request: Crm_Customer_V1_GetCustomerRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_GetCustomerResponse {
        let key = try Self.key(request.id, field: "id")
        guard let customer = try CustomerRecords.load(key: key, db) else { throw CustomerErrors.notFound(request.id) }
        var response = Crm_Customer_V1_GetCustomerResponse()
        response.customer = presented(customer, caller: caller)
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
                code: .invalidArgument, message: "profile.kind cannot change", reason: .invalidField, processing: .notProcessed,
                fieldViolations: [.init(field: "profile.kind", description: "cannot change")])
        }
        // Documents kept as they were cannot take another customer's; placement kept as it was
        // needs no check and no new assignment (every create and assignment recorded the current one).
        if profile.documents != current.profile.documents {
            try checkDocumentsFree(profile, excluding: key, db)
        }
        let placementChanged =
            profile.relationshipManagerID != current.profile.relationshipManagerID || profile.branchID != current.profile.branchID
        if placementChanged {
            try checkPlacement(relationshipManagerID: profile.relationshipManagerID, branchID: profile.branchID, fieldPrefix: "profile.", db)
        }
        let changes = ProfileDiff.profileChanges(from: current.profile, to: profile)
        var response = Crm_Customer_V1_UpdateCustomerResponse()
        if !changes.isEmpty {
            let time = nowMilliseconds
            try CustomerRecords.replaceProfile(key: key, profile, previous: current.profile, version: current.version + 1, now: time, db)
            if placementChanged {
                try recordAssignment(
                    customerKey: key, relationshipManagerID: profile.relationshipManagerID, branchID: profile.branchID, reason: "profile updated",
                    caller: caller, time: time, db)
            }
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

    /// Both chains' verifications as one answer: intact only if both are; a break names its log.
    static func verifyAuditResponse(changes: AuditLog.Verification, access: AuditLog.Verification) -> Crm_Customer_V1_VerifyAuditResponse {
        var response = Crm_Customer_V1_VerifyAuditResponse()
        response.rowsChecked = changes.rowsChecked
        response.accessRowsChecked = access.rowsChecked
        let broken = changes.firstBrokenSequence != nil ? ("changes", changes) : access.firstBrokenSequence != nil ? ("access", access) : nil
        response.intact = broken == nil
        if let (log, verification) = broken {
            response.brokenLog = log
            response.firstBrokenSequence = UInt64(verification.firstBrokenSequence ?? 0)
            response.problem = verification.problem
        }
        return response
    }

    /// The change log alone, on one database (tests; the handler adds the access log).
    public func verifyAudit(_ db: Database) throws -> Crm_Customer_V1_VerifyAuditResponse {
        Self.verifyAuditResponse(changes: try AuditLog.verify(db), access: .init(rowsChecked: 0, firstBrokenSequence: nil, problem: ""))
    }

    public static let maxAuditPageSize: UInt32 = 500

    /// A validated ListAudit request.
    struct AuditQuery: Sendable {
        var customerKey: Int64
        var customerID: String
        var after: Int64
        var pageSize: Int
        /// The read-access log rather than the change log.
        var access: Bool
        var chain: AuditLog.Chain { access ? .access : .changes }
    }

    /// Checks a ListAudit request. A customer's audit trail holds personal data, so only roles that
    /// see personal data may read it (and the reading is itself audited, by the handler).
    func auditQuery(_ request: Crm_Customer_V1_ListAuditRequest, caller: Caller) throws -> AuditQuery {
        let key = try Self.key(request.customerID, field: "customerId")
        var problems = FieldViolations()
        let pageSize = problems.pageSize(request.pageSize, max: Self.maxAuditPageSize, defaultSize: 100)
        let after = problems.pageToken(request.pageToken)
        try problems.throwIfAny()
        guard caller.seesPersonalData else {
            throw CustomerErrors.permissionDenied(
                "the audit trail holds personal data; role \"\(caller.role)\" does not see every personal field in clear")
        }
        return AuditQuery(customerKey: key, customerID: request.customerID, after: after, pageSize: pageSize, access: request.access)
    }

    /// Fails with NOT_FOUND unless the customer exists (in any status).
    func requireCustomer(_ key: Int64, id: String, _ db: Database) throws {
        guard try Bool.fetchOne(db, sql: "SELECT 1 FROM customer WHERE key = ?", arguments: [key]) != nil else {
            throw CustomerErrors.notFound(id)
        }
    }

    /// One page of a customer's rows in one chain, oldest first, from that chain's database.
    func auditPage(_ query: AuditQuery, _ db: Database) throws -> Crm_Customer_V1_ListAuditResponse {
        let rows = try Row.fetchAll(
            db, sql: "SELECT * FROM \(query.chain.table) WHERE customer_key = ? AND sequence > ? ORDER BY sequence LIMIT ?",
            arguments: [query.customerKey, query.after, query.pageSize + 1])
        var response = Crm_Customer_V1_ListAuditResponse()
        for row in rows.prefix(query.pageSize) {
            var entry = Crm_Customer_V1_AuditEntry()
            entry.sequence = row["sequence"]
            entry.at.milliseconds = row["at_ms"]
            entry.callerSystem = row["caller_system"]
            entry.endUser = row["end_user"]
            entry.requestID = row["request_id"]
            entry.customerID = query.customerID
            entry.action = row["action"]
            entry.field = row["field"]
            entry.before = row["before"]
            entry.after = row["after"]
            response.entries.append(entry)
        }
        if rows.count > query.pageSize, let last = response.entries.last {
            response.nextPageToken = PageToken.token(afterKey: Int64(last.sequence))
        }
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

    /// The customer as this caller may see it. An unmasked answer is audited by whoever sends it
    /// (``readAccess(of:action:caller:)``, written to the ``AccessLog`` before the answer goes out).
    func presented(_ customer: Crm_Customer_V1_Customer, caller: Caller) -> Crm_Customer_V1_Customer {
        Masking.masked(customer, by: caller.masking)
    }

    /// The access log rows of a read of customer `id` by `caller`: one `read` row if the caller sees
    /// some personal field in clear, none otherwise. Its field is `*` when every field was in clear,
    /// else the fields that were, e.g. `name,phone`.
    func readAccess(of id: String, action: String = "read", caller: Caller) -> [AuditLog.Entry] {
        guard caller.readsPersonalData, let key = CustomerRecords.key(fromID: id) else { return [] }
        let clear = MaskingPolicy.Field.allCases.filter { caller.masking.treatment(of: $0) == .clear }
        let field = clear.count == MaskingPolicy.Field.allCases.count ? "*" : clear.map(\.rawValue).joined(separator: ",")
        return [.init(customerKey: key, action: action, field: field, before: "", after: "")]
    }

    /// The customer after a change, for the answer: the writer already sees it, so a caller who
    /// sees personal data gets it without a separate read audit.
    func view(key: Int64, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_Customer {
        guard let customer = try CustomerRecords.load(key: key, db) else { throw CustomerErrors.notFound(CustomerRecords.customerID(key)) }
        return presented(customer, caller: caller)
    }
}
