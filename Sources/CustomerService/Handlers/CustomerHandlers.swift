internal import Foundation
internal import GRDB
public import ServiceRuntime
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI
public import RPCTransport

/// CustomerService's handlers: each forwards to its rule in ``CustomerDirectory``; the generated
/// `register(into:)` of ``CustomerServiceHandler`` opens the transaction each rpc's access kind
/// names (``CustomerBinder``). Reads that show personal data unmasked write their row to the
/// ``AccessLog`` before answering.
public struct CustomerHandlers: CustomerServiceHandler {
    let store: Store
    let accessLog: AccessLog
    let directory: CustomerDirectory

    /// Registers CustomerService's methods and its change feed, to which customer mirrors elsewhere
    /// subscribe.
    public static func register(
        into router: inout RPCRouter, store: Store, accessLog: AccessLog, directory: CustomerDirectory = CustomerDirectory()
    ) {
        FeedHandlers.register(into: &router, store: store) { context -> (@Sendable (Crm_Feed_V1_ChangeEvent) -> Crm_Feed_V1_ChangeEvent)? in
            let caller = Caller(context: context)
            guard caller.viaGateway, !caller.masking.isClear else { return nil }
            return { event in maskedEvent(event, for: caller) }
        }
        var binder = CustomerBinder(router: router, store: store, accessLog: accessLog, directory: directory)
        CustomerHandlers(store: store, accessLog: accessLog, directory: directory).register(into: &binder)
        router = binder.stores.router
    }

    /// Customer.VerifyAudit: the change log, then the access log.
    static func verifyAudit(store: Store, accessLog: AccessLog) async throws -> Crm_Customer_V1_VerifyAuditResponse {
        let changes = try await store.read { db in try AuditLog.verify(db) }
        return CustomerDirectory.verifyAuditResponse(changes: changes, access: try await accessLog.verify())
    }

    /// Customer.ListAudit: a page of the customer's change log or access log. Reading the audit
    /// trail is itself audited, in the access log.
    static func listAudit(
        _ request: Crm_Customer_V1_ListAuditRequest, caller: Caller, store: Store, accessLog: AccessLog, directory: CustomerDirectory
    ) async throws -> Crm_Customer_V1_ListAuditResponse {
        let query = try directory.auditQuery(request, caller: caller)
        let changes = try await accessLog.read(of: query.customerID, action: "read-audit", by: caller, on: store, directory: directory) { db in
            try directory.requireCustomer(query.customerKey, id: query.customerID, db)
            return query.access ? nil : try directory.auditPage(query, db)
        }
        if let changes { return changes }
        return try await accessLog.store.read { db in try directory.auditPage(query, db) }
    }

    /// Customer.RecomputeGrades: batches of 500 customers, one transaction each, until all are done
    /// (or the call is cancelled; what was committed stays, and a rerun is harmless).
    static func recomputeAllGrades(store: Store, directory: CustomerDirectory, caller: Caller) async throws -> Crm_Customer_V1_RecomputeGradesResponse {
        var progress = Crm_Customer_V1_RecomputeGradesResponse()
        var afterKey: Int64 = 0
        while true {
            try Task.checkCancellation()
            let start = progress
            let from = afterKey
            let (next, batch) = try await store.write { db in
                var batch = start
                let next = try directory.publishingChanges(db) {
                    try directory.recomputeGrades(afterKey: from, limit: 500, progress: &batch, caller: caller, db)
                }
                return (next, batch)
            }
            progress = batch
            guard let next else { return progress }
            afterKey = next
        }
    }

    /// A customer feed event masked by `caller`'s policy. Only subscriptions through the gateway are
    /// masked (decided once per subscription, at registration); the services' own mirrors connect
    /// directly with certificates of the internal CA and get the events in full.
    static func maskedEvent(_ event: Crm_Feed_V1_ChangeEvent, for caller: Caller) -> Crm_Feed_V1_ChangeEvent {
        var event = event
        guard event.payloadType == Crm_Customer_V1_CustomerChanged.protoMessageName,
            let changed = try? Crm_Customer_V1_CustomerChanged(serializedBytes: event.payload),
            let payload = try? Masking.masked(changed, by: caller.masking).serializedBytes() as Data
        else {
            // An event that is not a customer change carries no customer fields; one that does
            // not decode is withheld rather than passed on unmasked.
            if event.payloadType == Crm_Customer_V1_CustomerChanged.protoMessageName { event.payload = Data() }
            return event
        }
        event.payload = payload
        return event
    }

    public func create(
        _ request: Crm_Customer_V1_CreateCustomerRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_CreateCustomerResponse {
        try directory.create(request, caller: transaction.caller, transaction.db)
    }

    public func get(_ request: Crm_Customer_V1_GetCustomerRequest, _ transaction: StoreTransaction) throws -> Crm_Customer_V1_GetCustomerResponse {
        try directory.get(request, caller: transaction.caller, transaction.db)
    }

    public func update(
        _ request: Crm_Customer_V1_UpdateCustomerRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_UpdateCustomerResponse {
        try directory.update(request, caller: transaction.caller, transaction.db)
    }

    public func search(
        _ request: Crm_Customer_V1_SearchCustomersRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_SearchCustomersResponse {
        try directory.search(request, transaction.db)
    }

    public func deactivate(
        _ request: Crm_Customer_V1_SetCustomerActiveRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_SetCustomerActiveResponse {
        try directory.setActive(false, request, caller: transaction.caller, transaction.db)
    }

    public func reactivate(
        _ request: Crm_Customer_V1_SetCustomerActiveRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_SetCustomerActiveResponse {
        try directory.setActive(true, request, caller: transaction.caller, transaction.db)
    }

    public func verifyAudit(
        _ request: Crm_Customer_V1_VerifyAuditRequest, _ call: ServerCallContext
    ) async throws -> Crm_Customer_V1_VerifyAuditResponse {
        try await Self.verifyAudit(store: store, accessLog: accessLog)
    }

    public func listAudit(_ request: Crm_Customer_V1_ListAuditRequest, _ call: ServerCallContext) async throws -> Crm_Customer_V1_ListAuditResponse {
        try await Self.listAudit(request, caller: Caller(context: call), store: store, accessLog: accessLog, directory: directory)
    }

    public func merge(
        _ request: Crm_Customer_V1_MergeCustomersRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_MergeCustomersResponse {
        try directory.merge(request, caller: transaction.caller, transaction.db)
    }

    public func unmerge(
        _ request: Crm_Customer_V1_UnmergeCustomersRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_UnmergeCustomersResponse {
        try directory.unmerge(request, caller: transaction.caller, transaction.db)
    }

    public func placeLegalHold(
        _ request: Crm_Customer_V1_PlaceLegalHoldRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_PlaceLegalHoldResponse {
        try directory.placeLegalHold(request, caller: transaction.caller, transaction.db)
    }

    public func releaseLegalHold(
        _ request: Crm_Customer_V1_ReleaseLegalHoldRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_ReleaseLegalHoldResponse {
        try directory.releaseLegalHold(request, caller: transaction.caller, transaction.db)
    }

    public func erase(
        _ request: Crm_Customer_V1_EraseCustomerRequest, _ call: ServerCallContext
    ) async throws -> Crm_Customer_V1_EraseCustomerResponse {
        let caller = Caller(context: call)
        let response = try await store.write(idempotentFor: call, request: request) { db in
            try directory.publishingChanges(db) { try directory.erase(request, caller: caller, db) }
        }
        // Once the erasure has committed: the WAL's frames from before still hold the data.
        if response.erased { store.purgeWAL() }
        return response
    }

    public func upsertAccounts(
        _ request: Crm_Customer_V1_UpsertAccountsRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_UpsertAccountsResponse {
        try directory.upsertAccounts(request, caller: transaction.caller, transaction.db)
    }

    public func recordInteraction(
        _ request: Crm_Customer_V1_RecordInteractionRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_RecordInteractionResponse {
        try directory.recordInteraction(request, caller: transaction.caller, transaction.db)
    }

    public func listInteractions(
        _ request: Crm_Customer_V1_ListInteractionsRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_ListInteractionsResponse {
        try directory.listInteractions(request, transaction.db)
    }

    public func setCreditGrade(
        _ request: Crm_Customer_V1_SetCreditGradeRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_SetCreditGradeResponse {
        try directory.setCreditGrade(request, caller: transaction.caller, transaction.db)
    }

    public func recomputeGrades(
        _ request: Crm_Customer_V1_RecomputeGradesRequest, _ call: ServerCallContext
    ) async throws -> Crm_Customer_V1_RecomputeGradesResponse {
        try await Self.recomputeAllGrades(store: store, directory: directory, caller: Caller(context: call))
    }

    public func getView(
        _ request: Crm_Customer_V1_GetCustomerViewRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_GetCustomerViewResponse {
        try directory.getView(request, caller: transaction.caller, transaction.db)
    }

    public func setValueGradeRules(
        _ request: Crm_Customer_V1_SetValueGradeRulesRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_SetValueGradeRulesResponse {
        try directory.setValueGradeRules(request, caller: transaction.caller, transaction.db)
    }

    public func createHousehold(
        _ request: Crm_Customer_V1_CreateHouseholdRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_HouseholdResponse {
        try directory.createHousehold(request, caller: transaction.caller, transaction.db)
    }

    public func setHouseholdMember(
        _ request: Crm_Customer_V1_SetHouseholdMemberRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_HouseholdResponse {
        try directory.setHouseholdMember(request, caller: transaction.caller, transaction.db)
    }

    public func removeHouseholdMember(
        _ request: Crm_Customer_V1_RemoveHouseholdMemberRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_HouseholdResponse {
        try directory.removeHouseholdMember(request, caller: transaction.caller, transaction.db)
    }

    public func getHousehold(
        _ request: Crm_Customer_V1_GetHouseholdRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_HouseholdResponse {
        try directory.getHousehold(request, transaction.db)
    }

    public func linkSubsidiary(
        _ request: Crm_Customer_V1_LinkSubsidiaryRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_LinkSubsidiaryResponse {
        try directory.linkSubsidiary(request, caller: transaction.caller, transaction.db)
    }

    public func unlinkSubsidiary(
        _ request: Crm_Customer_V1_UnlinkSubsidiaryRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_UnlinkSubsidiaryResponse {
        try directory.unlinkSubsidiary(request, caller: transaction.caller, transaction.db)
    }

    public func setGroupCreditLimit(
        _ request: Crm_Customer_V1_SetGroupCreditLimitRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_SetGroupCreditLimitResponse {
        try directory.setGroupCreditLimit(request, caller: transaction.caller, transaction.db)
    }

    public func getCorporateGroup(
        _ request: Crm_Customer_V1_GetCorporateGroupRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_GetCorporateGroupResponse {
        try directory.getCorporateGroup(request, transaction.db)
    }

    public func recordConsent(
        _ request: Crm_Customer_V1_RecordConsentRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_ConsentsResponse {
        try directory.recordConsent(request, caller: transaction.caller, transaction.db)
    }

    public func getConsents(_ request: Crm_Customer_V1_GetConsentsRequest, _ transaction: StoreTransaction) throws -> Crm_Customer_V1_ConsentsResponse {
        try directory.getConsents(request, transaction.db)
    }

    public func findDuplicates(
        _ request: Crm_Customer_V1_FindDuplicatesRequest, _ call: ServerCallContext
    ) async throws -> Crm_Customer_V1_FindDuplicatesResponse {
        // The search runs on a reader; only storing the pairs takes the write lock.
        let slice = try await store.read { db in try directory.scanForDuplicates(request, db) }
        return try await store.write { db in try directory.storeDuplicates(slice, db) }
    }

    public func listDuplicatePairs(
        _ request: Crm_Customer_V1_ListDuplicatePairsRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_ListDuplicatePairsResponse {
        try directory.listDuplicatePairs(request, transaction.db)
    }

    public func dismissDuplicatePair(
        _ request: Crm_Customer_V1_DismissDuplicatePairRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_DismissDuplicatePairResponse {
        try directory.dismissDuplicatePair(request, caller: transaction.caller, transaction.db)
    }

    public func importCustomers(
        _ request: Crm_Customer_V1_ImportCustomersRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_ImportCustomersResponse {
        try directory.importCustomers(request, caller: transaction.caller, transaction.db)
    }

    public func upsertAgreements(
        _ request: Crm_Customer_V1_UpsertAgreementsRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_UpsertAgreementsResponse {
        try directory.upsertAgreements(request, caller: transaction.caller, transaction.db)
    }

    public func upsertOrgUnits(
        _ request: Crm_Customer_V1_UpsertOrgUnitsRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_UpsertOrgUnitsResponse {
        try directory.upsertOrgUnits(request, caller: transaction.caller, transaction.db)
    }

    public func upsertRelationshipManagers(
        _ request: Crm_Customer_V1_UpsertRelationshipManagersRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_UpsertRelationshipManagersResponse {
        try directory.upsertRelationshipManagers(request, caller: transaction.caller, transaction.db)
    }

    public func assignRelationshipManager(
        _ request: Crm_Customer_V1_AssignRelationshipManagerRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_AssignRelationshipManagerResponse {
        try directory.assignRelationshipManager(request, caller: transaction.caller, transaction.db)
    }

    public func listAssignments(
        _ request: Crm_Customer_V1_ListAssignmentsRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_ListAssignmentsResponse {
        try directory.listAssignments(request, transaction.db)
    }

    public func getOrgUnit(_ request: Crm_Customer_V1_GetOrgUnitRequest, _ transaction: StoreTransaction) throws -> Crm_Customer_V1_GetOrgUnitResponse {
        try directory.getOrgUnit(request, transaction.db)
    }

    public func getValueGradeRules(
        _ request: Crm_Customer_V1_GetValueGradeRulesRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_GetValueGradeRulesResponse {
        try directory.getValueGradeRules(request, transaction.db)
    }

    public func setLifecycleRules(
        _ request: Crm_Customer_V1_SetLifecycleRulesRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_SetLifecycleRulesResponse {
        try directory.setLifecycleRules(request, caller: transaction.caller, transaction.db)
    }

    public func getLifecycleRules(
        _ request: Crm_Customer_V1_GetLifecycleRulesRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Customer_V1_GetLifecycleRulesResponse {
        try directory.getLifecycleRules(request, transaction.db)
    }
}

/// The binder of CustomerService: ``StoreBinder``'s transactions, every change writing the change
/// events of the customers it changed, and personal reads through the ``AccessLog``.
struct CustomerBinder: PersonalReadBinder {
    typealias Transaction = StoreTransaction
    typealias Call = ServerCallContext

    var stores: StoreBinder
    let accessLog: AccessLog
    let directory: CustomerDirectory

    init(router: RPCRouter, store: Store, accessLog: AccessLog, directory: CustomerDirectory) {
        self.stores = StoreBinder(router: router, store: store) { db, body in try directory.publishingChanges(db, body) }
        self.accessLog = accessLog
        self.directory = directory
    }

    mutating func bindRead<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ body: @escaping @Sendable (Request, StoreTransaction) throws -> Response
    ) {
        stores.bindRead(method, body)
    }

    mutating func bindChange<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ body: @escaping @Sendable (Request, StoreTransaction) throws -> Response
    ) {
        stores.bindChange(method, body)
    }

    mutating func bindCall<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ body: @escaping @Sendable (Request, ServerCallContext) async throws -> Response
    ) {
        stores.bindCall(method, body)
    }

    mutating func bindStream<Request, Item>(
        _ method: MethodDescriptor<Request, Item>,
        _ body: @escaping @Sendable (Request, ServerCallContext, @escaping StreamSend<Item>) async throws -> Void
    ) {
        stores.bindStream(method, body)
    }

    mutating func bindPersonalRead<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, subject: any KeyPath<Request, String> & Sendable,
        _ body: @escaping @Sendable (Request, StoreTransaction) throws -> Response
    ) {
        let (store, accessLog, directory) = (stores.store, accessLog, directory)
        stores.router.register(method) { request, call in
            let caller = Caller(context: call)
            return try await accessLog.read(of: request[keyPath: subject], by: caller, on: store, directory: directory) { db in
                try body(request, StoreTransaction(db: db, call: call, caller: caller))
            }
        }
    }
}

extension Crm_Customer_V1_SearchCustomersResponse: MaskedForCaller {
    public func masked(by policy: MaskingPolicy) -> Self { Masking.masked(self, by: policy) }
}

extension Crm_Customer_V1_HouseholdResponse: MaskedForCaller {
    public func masked(by policy: MaskingPolicy) -> Self { Masking.masked(self, by: policy) }
}
