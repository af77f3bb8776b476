internal import Foundation
internal import GRDB
public import ServiceRuntime
internal import SwiftProtobuf
internal import WireProtocol

/// Connects CustomerService's methods to the router: each handler picks the transaction (a read on
/// the store's reader threads, or a write, idempotent when the call carries a key) and runs the rule in
/// ``CustomerDirectory`` inside it. Reads that show personal data unmasked write their row to the
/// ``AccessLog`` before answering.
public enum CustomerHandlers {
    public static func register(
        into router: inout RPCRouter, store: Store, accessLog: AccessLog, directory: CustomerDirectory = CustomerDirectory()
    ) {
        // CustomerService publishes a change feed: customer mirrors elsewhere subscribe to it.
        FeedHandlers.register(into: &router, store: store) { context -> (@Sendable (Crm_Feed_V1_ChangeEvent) -> Crm_Feed_V1_ChangeEvent)? in
            let caller = Caller(context: context)
            guard caller.viaGateway, !caller.masking.isClear else { return nil }
            return { event in maskedEvent(event, for: caller) }
        }
        change(CustomerMethods.create, &router, store, directory, directory.create)
        change(CustomerMethods.update, &router, store, directory, directory.update)
        change(CustomerMethods.deactivate, &router, store, directory) { try directory.setActive(false, $0, caller: $1, $2) }
        change(CustomerMethods.reactivate, &router, store, directory) { try directory.setActive(true, $0, caller: $1, $2) }
        change(CustomerMethods.merge, &router, store, directory, directory.merge)
        change(CustomerMethods.unmerge, &router, store, directory, directory.unmerge)
        change(CustomerMethods.placeLegalHold, &router, store, directory, directory.placeLegalHold)
        change(CustomerMethods.releaseLegalHold, &router, store, directory, directory.releaseLegalHold)
        change(CustomerMethods.erase, &router, store, directory) { request, caller, db in
            let response = try directory.erase(request, caller: caller, db)
            // Runs once this write has committed: the WAL's frames from before still hold the data.
            if response.erased { store.purgeWAL() }
            return response
        }
        change(CustomerMethods.upsertAccounts, &router, store, directory, directory.upsertAccounts)
        change(CustomerMethods.recordInteraction, &router, store, directory, directory.recordInteraction)
        change(CustomerMethods.setCreditGrade, &router, store, directory, directory.setCreditGrade)
        router.register(CustomerMethods.recomputeGrades) { _, context in
            let caller = Caller(context: context)
            return try await recomputeAllGrades(store: store, directory: directory, caller: caller)
        }
        change(CustomerMethods.setValueGradeRules, &router, store, directory, directory.setValueGradeRules)
        change(CustomerMethods.createHousehold, &router, store, directory, masking: Masking.masked, directory.createHousehold)
        change(CustomerMethods.setHouseholdMember, &router, store, directory, masking: Masking.masked, directory.setHouseholdMember)
        change(CustomerMethods.removeHouseholdMember, &router, store, directory, masking: Masking.masked, directory.removeHouseholdMember)
        change(CustomerMethods.linkSubsidiary, &router, store, directory, directory.linkSubsidiary)
        change(CustomerMethods.unlinkSubsidiary, &router, store, directory, directory.unlinkSubsidiary)
        change(CustomerMethods.setGroupCreditLimit, &router, store, directory, directory.setGroupCreditLimit)
        change(CustomerMethods.recordConsent, &router, store, directory, directory.recordConsent)
        change(CustomerMethods.dismissDuplicatePair, &router, store, directory, directory.dismissDuplicatePair)
        change(CustomerMethods.importCustomers, &router, store, directory, directory.importCustomers)
        change(CustomerMethods.upsertAgreements, &router, store, directory, directory.upsertAgreements)
        change(CustomerMethods.upsertOrgUnits, &router, store, directory, directory.upsertOrgUnits)
        change(CustomerMethods.upsertRelationshipManagers, &router, store, directory, directory.upsertRelationshipManagers)
        change(CustomerMethods.assignRelationshipManager, &router, store, directory, directory.assignRelationshipManager)
        read(CustomerMethods.listAssignments, &router, store, directory.listAssignments)
        read(CustomerMethods.getOrgUnit, &router, store, directory.getOrgUnit)
        read(CustomerMethods.getValueGradeRules, &router, store, directory.getValueGradeRules)
        change(CustomerMethods.setLifecycleRules, &router, store, directory, directory.setLifecycleRules)
        read(CustomerMethods.getLifecycleRules, &router, store, directory.getLifecycleRules)
        // The search runs on a reader; only storing the pairs takes the write lock.
        router.register(CustomerMethods.findDuplicates) { request, _ in
            let slice = try await store.read { db in try directory.scanForDuplicates(request, db) }
            return try await store.write { db in try directory.storeDuplicates(slice, db) }
        }
        read(CustomerMethods.listDuplicatePairs, &router, store, directory.listDuplicatePairs)

        personalRead(CustomerMethods.get, &router, store, accessLog, directory, customerID: \.id, directory.get)
        personalRead(CustomerMethods.getView, &router, store, accessLog, directory, customerID: \.id, directory.getView)
        read(CustomerMethods.listInteractions, &router, store, directory.listInteractions)
        read(CustomerMethods.getHousehold, &router, store, masking: Masking.masked, directory.getHousehold)
        read(CustomerMethods.getCorporateGroup, &router, store, directory.getCorporateGroup)
        read(CustomerMethods.getConsents, &router, store, directory.getConsents)
        read(CustomerMethods.search, &router, store, masking: Masking.masked, directory.search)
        router.register(CustomerMethods.verifyAudit) { _, _ in try await verifyAudit(store: store, accessLog: accessLog) }
        router.register(CustomerMethods.listAudit) { request, context in
            try await listAudit(request, caller: Caller(context: context), store: store, accessLog: accessLog, directory: directory)
        }
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

    /// Registers a read without personal data in its answer: one transaction on a reader thread.
    private static func read<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor<Request, Response>, _ router: inout RPCRouter, _ store: Store,
        _ body: @escaping @Sendable (Request, Database) throws -> Response
    ) {
        router.register(method) { request, _ in
            try await store.read { db in try body(request, db) }
        }
    }

    /// Registers a read whose answer holds personal fields but is not a read of one customer (a
    /// search, a household): one transaction on a reader thread, its answer masked by the caller's
    /// policy.
    private static func read<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor<Request, Response>, _ router: inout RPCRouter, _ store: Store,
        masking: @escaping @Sendable (Response, MaskingPolicy) -> Response,
        _ body: @escaping @Sendable (Request, Database) throws -> Response
    ) {
        router.register(method) { request, context in
            let policy = Caller(context: context).masking
            return masking(try await store.read { db in try body(request, db) }, policy)
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

    /// Registers a read that may return personal data: on a reader thread; when the caller sees it
    /// unmasked, the read's row is written to the access log before the answer goes out.
    private static func personalRead<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor<Request, Response>, _ router: inout RPCRouter, _ store: Store, _ accessLog: AccessLog,
        _ directory: CustomerDirectory, customerID: any KeyPath<Request, String> & Sendable,
        _ body: @escaping @Sendable (Request, Caller, Database) throws -> Response
    ) {
        router.register(method) { request, context in
            let caller = Caller(context: context)
            return try await accessLog.read(of: request[keyPath: customerID], by: caller, on: store, directory: directory) { db in
                try body(request, caller, db)
            }
        }
    }

    /// Registers a method that changes data: one write transaction, idempotent when the call carries
    /// an idempotency key, with the change events of the customers it changed.
    private static func change<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor<Request, Response>, _ router: inout RPCRouter, _ store: Store, _ directory: CustomerDirectory,
        masking: (@Sendable (Response, MaskingPolicy) -> Response)? = nil,
        _ body: @escaping @Sendable (Request, Caller, Database) throws -> Response
    ) {
        router.register(method) { request, context in
            let caller = Caller(context: context)
            let response = try await store.write(idempotentFor: context, request: request) { db in
                try directory.publishingChanges(db) { try body(request, caller, db) }
            }
            return masking.map { $0(response, caller.masking) } ?? response
        }
    }
}
