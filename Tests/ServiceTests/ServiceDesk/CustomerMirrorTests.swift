import Foundation
import GRDB
import ServiceDeskService
import ServiceRuntime
import Testing
import TestSupport
import WireProtocol
internal import CRMAPI

/// ServiceDesk's customer mirror, fed the events CustomerService publishes: who a case may be
/// opened for, what its targets come from, and cases following their customer through a merge
/// and back through an unmerge.
@Suite("ServiceDesk customer mirror")
struct CustomerMirrorTests {
    typealias Desk = CaseDeskTests.Desk

    func openRequest(_ customer: String, branch: String = "") -> Crm_Servicedesk_V1_OpenCaseRequest {
        var request = Crm_Servicedesk_V1_OpenCaseRequest()
        (request.kind, request.category, request.channel, request.priority) = (.complaint, "cards/fees", .branch, .high)
        (request.customerID, request.subject, request.queue, request.branchID) = (customer, "card blocked abroad", "complaints-north", branch)
        return request
    }

    func open(_ desk: Desk, _ customer: String, branch: String = "") async throws -> Crm_Servicedesk_V1_Case {
        let request = openRequest(customer, branch: branch)
        return try await desk.write { desk, db in try desk.open(request, actor: "branch/teller-3", db) }.case
    }

    func cases(_ desk: Desk, of customer: String) async throws -> [String] {
        try await desk.store.value!.pool.read { db in
            try Int64.fetchAll(db, sql: "SELECT key FROM service_case WHERE customer_id = ? ORDER BY key", arguments: [customer])
        }.map { "K" + String(format: "%010lld", $0) }
    }

    @Test("a case opens only for a mirrored customer that is not merged away or erased; grade and branch come from the mirror")
    func whoMayComplain() async throws {
        let desk = try Desk()
        try await desk.setPolicies([(.high, 0, 120, 960), (.high, 1, 60, 240)])

        let unknown = await #expect(throws: RPCError.self) { try await open(desk, "C0000000009") }
        #expect(unknown?.code == .notFound)
        #expect(unknown?.reason == "CUSTOMER_NOT_FOUND")

        try await desk.customerChanged("C0000000001", type: "customer.created", grade: 1, branch: "SH-02")
        let found = try await open(desk, "C0000000001")
        #expect(found.customerValueGrade == 1)
        #expect(found.branchID == "SH-02")
        #expect(found.slas[1].targetMinutes == 240, "the grade 1 policy")
        #expect(try await open(desk, "C0000000001", branch: "BJ-07").branchID == "BJ-07", "the branch handling it, when given")

        // A former customer may still complain.
        try await desk.customerChanged("C0000000002", type: "customer.deactivated", status: .inactive)
        #expect(try await open(desk, "C0000000002").customerID == "C0000000002")

        try await desk.customerChanged("C0000000003", type: "customer.merged", status: .merged, mergedInto: "C0000000001")
        let merged = await #expect(throws: RPCError.self) { try await open(desk, "C0000000003") }
        #expect(merged?.code == .failedPrecondition)
        #expect(merged?.reason == "CUSTOMER_MERGED")
        #expect(merged?.details["merged_into_id"] == "C0000000001")

        try await desk.customerChanged("C0000000004", type: "customer.erased", status: .erased)
        let erased = await #expect(throws: RPCError.self) { try await open(desk, "C0000000004") }
        #expect(erased?.reason == "CUSTOMER_ERASED")
        #expect(try await desk.events("case.opened") == 3)
    }

    @Test("a merge moves every case of the merged customer to the survivor; the unmerge moves exactly those back")
    func mergeAndUnmerge() async throws {
        let desk = try Desk()
        try await desk.customerChanged("C0000000001", type: "customer.created")
        try await desk.customerChanged("C0000000002", type: "customer.created")
        let first = try await open(desk, "C0000000002")
        let second = try await open(desk, "C0000000002")
        _ = try await desk.transition(second, .cancel, reason: "opened twice")
        let survivorsOwn = try await open(desk, "C0000000001")

        try await desk.customerChanged("C0000000002", type: "customer.merged", status: .merged, mergedInto: "C0000000001")
        #expect(try await cases(desk, of: "C0000000002").isEmpty)
        #expect(try await cases(desk, of: "C0000000001") == [first.id, second.id, survivorsOwn.id])
        #expect(try await desk.events("case.rekeyed") == 2)
        // Cases opened after the merge are the survivor's own.
        let afterMerge = try await open(desk, "C0000000001")

        try await desk.customerChanged("C0000000002", type: "customer.unmerged", status: .active)
        #expect(try await cases(desk, of: "C0000000002") == [first.id, second.id])
        #expect(try await cases(desk, of: "C0000000001") == [survivorsOwn.id, afterMerge.id])
        #expect(try await desk.events("case.rekeyed") == 4)

        // The same unmerge event again (a replay) moves nothing.
        try await desk.customerChanged("C0000000002", type: "customer.unmerged", status: .active)
        #expect(try await desk.events("case.rekeyed") == 4)
        #expect(try await cases(desk, of: "C0000000002") == [first.id, second.id])
    }

    @Test("applying the same customer events again changes no case and publishes nothing")
    func replay() async throws {
        let desk = try Desk()
        try await desk.setPolicies([(.high, 0, 120, 960), (.high, 1, 60, 240)])
        var events = [try await desk.customerChanged("C0000000001", type: "customer.created", grade: 3)]
        _ = try await open(desk, "C0000000001")
        _ = try await open(desk, "C0000000001")
        events.append(try await desk.customerChanged("C0000000001", grade: 1))
        events.append(try await desk.customerChanged("C0000000002", type: "customer.created"))
        events.append(try await desk.customerChanged("C0000000001", type: "customer.merged", status: .merged, mergedInto: "C0000000002"))
        let snapshot: @Sendable (Database) throws -> [Row] = { db in
            try Row.fetchAll(db, sql: "SELECT key, customer_id, customer_value_grade, version FROM service_case ORDER BY key")
                + Row.fetchAll(db, sql: "SELECT count(*) FROM change_log")
                + Row.fetchAll(db, sql: "SELECT target_minutes, next_fire_ms FROM sla_clock ORDER BY key")
        }
        let before = try desk.store.value!.pool.read(snapshot)
        #expect(before.count == 2 + 1 + 4)
        for event in events.suffix(2) {
            try await desk.write { desk, db in try CustomerMirror(desk: desk).apply(event, db) }
        }
        #expect(try desk.store.value!.pool.read(snapshot) == before)
    }

    @Test("organisation events are not ServiceDesk's; an event without a customer fails to apply (and is dead-lettered by the consumer)")
    func otherEvents() async throws {
        let desk = try Desk()
        var unit = Crm_Feed_V1_ChangeEvent()
        (unit.type, unit.entityKey) = ("org.unit.changed", "unit:BJ-01")
        let orgEvent = unit
        try await desk.write { desk, db in try CustomerMirror(desk: desk).apply(orgEvent, db) }
        var broken = Crm_Feed_V1_ChangeEvent()
        (broken.type, broken.entityKey, broken.payload) = ("customer.updated", "C0000000001", Data([0xFF, 0xFF]))
        let brokenEvent = broken
        await #expect(throws: (any Error).self) {
            try await desk.write { desk, db in try CustomerMirror(desk: desk).apply(brokenEvent, db) }
        }
        let mirrored = try await desk.store.value!.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM customer_mirror") }
        #expect(mirrored == 0)
    }
}
