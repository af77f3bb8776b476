@testable import CustomerService
import Foundation
import GRDB
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI

@Suite("Erasure and legal holds")
struct ErasureTests {
    func erase(_ fixture: TemporaryCustomerStore, _ customer: Crm_Customer_V1_Customer, directory: CustomerDirectory? = nil)
        async throws -> Crm_Customer_V1_EraseCustomerResponse
    {
        var request = Crm_Customer_V1_EraseCustomerRequest()
        request.id = customer.id
        request.expectedVersion = customer.version
        request.basis = "PIPL art. 47 request 2026-0412"
        let finished = request
        let directory = directory ?? fixture.directory
        return try await fixture.store.pool.write { db in try directory.erase(finished, caller: .servicing, db) }
    }

    func hold(_ fixture: TemporaryCustomerStore, _ customer: Crm_Customer_V1_Customer, until: String) async throws -> UInt64 {
        var request = Crm_Customer_V1_PlaceLegalHoldRequest()
        request.id = customer.id
        request.basis = "AML record keeping: 5 years after the relationship ends"
        request.untilDate = until
        let finished = request
        return try await fixture.write { directory, db in try directory.placeLegalHold(finished, caller: .kyc, db) }.holdID
    }

    @Test("without a hold: personal fields pseudonymised, documents and contacts gone, audit values blanked, chain intact")
    func eraseWithoutHold() async throws {
        let fixture = try TemporaryCustomerStore()
        let created = try await fixture.create(Profiles.individual(email: "zs@example.com")).customer
        let updated = try await fixture.update(created.id, version: 1, to: Profiles.individual(nameZh: "张三丰", email: "zs@example.com")).customer
        let result = try await erase(fixture, updated)
        #expect(result.erased)
        let erased = result.customer
        #expect(erased.status == .erased)
        #expect(erased.version == 3)
        #expect(erased.profile.individual.nameZh.isEmpty)
        #expect(erased.profile.individual.nameLatin == "ERASED C0000000001")
        #expect(erased.profile.individual.birthDate.isEmpty)
        #expect(erased.profile.documents.isEmpty && erased.profile.contacts.isEmpty)
        #expect(erased.profile.relationshipManagerID == "RM001", "what the bank may keep stays")

        let auditValues = try await fixture.read { _, db in
            try String.fetchAll(db, sql: "SELECT before || after FROM audit_log WHERE action IN ('create', 'update')")
        }
        #expect(!auditValues.isEmpty)
        #expect(auditValues.allSatisfy { !$0.contains("张三") && !$0.contains("13812345678") && !$0.contains("002X") })
        #expect(try await fixture.read { directory, db in try directory.verifyAudit(db) }.intact)
        let outcome = try await fixture.read { _, db in
            try Row.fetchOne(db, sql: "SELECT basis, outcome FROM erasure_request").map { [$0["basis"], $0["outcome"]] as [String] }
        }
        #expect(outcome == ["PIPL art. 47 request 2026-0412", "erased"])

        // The identity document is free again, and the erased customer cannot be changed or erased twice.
        _ = try await fixture.create(Profiles.individual(nameZh: "新客户"))
        let twice = await #expect(throws: RPCError.self) { try await erase(fixture, erased) }
        #expect(twice?.reason == "CUSTOMER_ERASED")
    }

    @Test("under a legal hold nothing is erased, the answer names the hold, and the request is recorded")
    func eraseUnderHold() async throws {
        let fixture = try TemporaryCustomerStore()
        let created = try await fixture.create(Profiles.individual()).customer
        let holdID = try await hold(fixture, created, until: "2031-12-31")
        let result = try await erase(fixture, try await fixture.get(created.id))
        #expect(!result.erased)
        #expect(result.heldUntil == "2031-12-31")
        #expect(result.heldByBasis.hasPrefix("AML"))
        #expect(result.customer.profile.individual.nameZh == "张三")
        #expect(result.customer.status == .active)
        let outcomes = try await fixture.read { _, db in try String.fetchAll(db, sql: "SELECT outcome FROM erasure_request") }
        #expect(outcomes == ["held"])

        var release = Crm_Customer_V1_ReleaseLegalHoldRequest()
        release.holdID = holdID
        release.reason = "relationship ended 2021, retention period reviewed by compliance"
        let finished = release
        _ = try await fixture.write { directory, db in try directory.releaseLegalHold(finished, caller: .kyc, db) }
        #expect(try await erase(fixture, try await fixture.get(created.id)).erased)
    }

    @Test("a hold whose date has passed does not prevent erasure")
    func expiredHold() async throws {
        let fixture = try TemporaryCustomerStore()
        let created = try await fixture.create(Profiles.individual()).customer
        _ = try await hold(fixture, created, until: "2026-12-31")
        let nextYear = CustomerDirectory(now: { Date(timeIntervalSince1970: 1_800_000_000) })  // 2027-01-15
        #expect(try await erase(fixture, try await fixture.get(created.id), directory: nextYear).erased)
    }

    @Test("a hold needs a basis and a date not in the past")
    func holdValidation() async throws {
        let fixture = try TemporaryCustomerStore()
        let created = try await fixture.create(Profiles.individual()).customer
        let past = await #expect(throws: RPCError.self) { try await hold(fixture, created, until: "2020-01-01") }
        #expect(past?.fieldViolations.map(\.field) == ["untilDate"])
        let bad = await #expect(throws: RPCError.self) { try await hold(fixture, created, until: "2031-02-30") }
        #expect(bad?.fieldViolations.map(\.field) == ["untilDate"])
    }

    @Test("erasing a survivor erases the records merged into it too")
    func erasureReachesMergedRecords() async throws {
        let fixture = try TemporaryCustomerStore()
        let first = try await fixture.create(Profiles.individual()).customer
        let second = try await fixture.create(Profiles.individual(nameLatin: "San Zhang", residentID: nil, phone: nil)).customer
        let merged = try await fixture.merge(survivor: first, merged: second)
        _ = try await erase(fixture, merged.survivor)
        let absorbed = try await fixture.get(second.id)
        #expect(absorbed.status == .merged)
        #expect(absorbed.profile.individual.nameLatin == "ERASED C0000000002")
        let images = try await fixture.read { _, db in try Data.fetchAll(db, sql: "SELECT before_image FROM customer_merge") }
        #expect(images == [Data()])
        let unmerge = await #expect(throws: RPCError.self) { try await fixture.unmerge(merged.mergeID) }
        #expect(unmerge?.reason == "CHANGED_SINCE_MERGE")
    }

    @Test("the erasure marker on a customer who was not erased is tampering, and is caught")
    func markerOnLiveCustomerIsTampering() async throws {
        let fixture = try TemporaryCustomerStore()
        _ = try await fixture.create(Profiles.individual()).customer
        try await fixture.store.pool.write { db in
            try db.execute(sql: "UPDATE audit_log SET after = '[erased]' WHERE sequence = 1")
        }
        let result = try await fixture.read { directory, db in try directory.verifyAudit(db) }
        #expect(result.firstBrokenSequence == 1)
        await #expect(throws: DatabaseError.self) {
            try await fixture.store.pool.write { db in try db.execute(sql: "UPDATE audit_log SET after = 'something else' WHERE sequence = 1") }
        }
    }
}
