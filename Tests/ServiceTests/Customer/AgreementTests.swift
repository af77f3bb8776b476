@testable import CustomerService
import Foundation
import GRDB
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI

@Suite("Service agreements")
struct AgreementTests {
    static func agreement(
        _ number: String, customer: String, kind: Crm_Customer_V1_AgreementKind = .eBanking, signed: String = "2024-01-02",
        from: String = "2024-01-02", until: String = "", terminated: String = ""
    ) -> Crm_Customer_V1_ServiceAgreement {
        var agreement = Crm_Customer_V1_ServiceAgreement()
        agreement.agreementNumber = number
        agreement.customerID = customer
        agreement.kind = kind
        agreement.signedOn = signed
        agreement.validFrom = from
        agreement.validUntil = until
        agreement.terminatedOn = terminated
        return agreement
    }

    func upsert(_ fixture: TemporaryCustomerStore, _ agreements: [Crm_Customer_V1_ServiceAgreement]) async throws
        -> Crm_Customer_V1_UpsertAgreementsResponse
    {
        var request = Crm_Customer_V1_UpsertAgreementsRequest()
        request.agreements = agreements
        let finished = request
        return try await fixture.write { directory, db in try directory.upsertAgreements(finished, caller: .servicing, db) }
    }

    @Test("each agreement accepted or rejected on its own; a repeat is unchanged; an early end is an update")
    func feed() async throws {
        let fixture = try TemporaryCustomerStore()
        let id = try await fixture.create(Profiles.individual()).customer.id
        let first = try await upsert(
            fixture,
            [
                Self.agreement("EB-0001", customer: id),
                Self.agreement("PA-0001", customer: id, kind: .payrollAgency, signed: "2023-03-01", from: "2023-03-01", until: "2025-02-28"),
                Self.agreement("X1", customer: id),
                Self.agreement("EB-0002", customer: id, from: "2023-12-31"),
                Self.agreement("EB-0003", customer: id, signed: "2099-01-01", from: "2099-01-01"),
                Self.agreement("EB-0004", customer: "C0000000099"),
                Self.agreement("EB-0005", customer: id, kind: .unspecified),
                Self.agreement("EB-0006", customer: id, until: "2023-01-01"),
            ])
        #expect((first.created, first.rejected) == (2, 6))
        #expect(first.results.filter { $0.outcome == .rejected }.map(\.field) == [
            "agreements[2].agreementNumber", "agreements[3].validFrom", "agreements[4].signedOn", "agreements[5].customerId",
            "agreements[6].kind", "agreements[7].validUntil",
        ])
        #expect(try await upsert(fixture, [Self.agreement("eb-0001", customer: id)]).unchanged == 1, "numbers are upper-cased")
        let ended = try await upsert(fixture, [Self.agreement("EB-0001", customer: id, terminated: "2025-06-30")])
        #expect(ended.updated == 1)
        let view = try await fixture.view(id)
        #expect(view.agreements.map(\.agreementNumber) == ["EB-0001", "PA-0001"])
        #expect(view.agreements.map(\.inForce) == [false, false], "terminated; expired")
        let audited = try await fixture.read { _, db in try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_log WHERE action = 'agreement'") }
        #expect(audited == 3)
    }

    @Test("agreements move with a merge and come back with the unmerge, byte for byte")
    func mergeAndUnmerge() async throws {
        let fixture = try TemporaryCustomerStore()
        let survivor = try await fixture.create(Profiles.individual()).customer
        let merged = try await fixture.create(Profiles.individual(nameZh: "张三", nameLatin: "Zhang San", residentID: nil, phone: "13900000001")).customer
        _ = try await upsert(fixture, [Self.agreement("EB-1000", customer: merged.id), Self.agreement("EB-1001", customer: survivor.id)])
        let before = try await fixture.content([survivor.id, merged.id])
        let result = try await fixture.merge(survivor: try await fixture.get(survivor.id), merged: try await fixture.get(merged.id))
        #expect(try await fixture.view(survivor.id).agreements.map(\.agreementNumber).sorted() == ["EB-1000", "EB-1001"])
        #expect(try await fixture.view(survivor.id).agreements.allSatisfy(\.inForce))
        _ = try await fixture.unmerge(result.mergeID)
        #expect(try await fixture.content([survivor.id, merged.id]) == before)
    }
}
