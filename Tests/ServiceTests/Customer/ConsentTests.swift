@testable import CustomerService
import Foundation
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI

@Suite("Consents")
struct ConsentTests {
    func record(
        _ fixture: TemporaryCustomerStore, _ id: String, _ channel: Crm_Customer_V1_Channel, _ purpose: Crm_Customer_V1_ConsentPurpose,
        granted: Bool, atMs: Int64 = 0, source: String = "branch form 12"
    ) async throws -> Crm_Customer_V1_ConsentsResponse {
        var request = Crm_Customer_V1_RecordConsentRequest()
        request.customerID = id
        request.consent.channel = channel
        request.consent.purpose = purpose
        request.consent.granted = granted
        request.consent.source = source
        request.consent.at.milliseconds = atMs
        let finished = request
        return try await fixture.write { directory, db in try directory.recordConsent(finished, caller: .servicing, db) }
    }

    @Test("the latest consent per channel and purpose is in force; the history keeps every entry")
    func history() async throws {
        let fixture = try TemporaryCustomerStore()
        let customer = try await fixture.create(Profiles.individual()).customer
        _ = try await record(fixture, customer.id, .sms, .marketing, granted: true, atMs: 1_700_000_000_000)
        _ = try await record(fixture, customer.id, .email, .serviceNotices, granted: true)
        let withdrawn = try await record(fixture, customer.id, .sms, .marketing, granted: false, source: "SMS reply TD")
        #expect(withdrawn.current.map { "\($0.channel)/\($0.purpose)/\($0.granted)" } == ["sms/marketing/false", "email/serviceNotices/true"])
        // A consent given earlier but recorded late does not override a later one.
        let late = try await record(fixture, customer.id, .sms, .marketing, granted: true, atMs: 1_600_000_000_000)
        #expect(late.current.first { $0.channel == .sms }?.granted == false)

        var get = Crm_Customer_V1_GetConsentsRequest()
        get.customerID = customer.id
        get.includeHistory = true
        let request = get
        let all = try await fixture.read { directory, db in try directory.getConsents(request, db) }
        #expect(all.history.count == 4)
        #expect(all.history.first?.at.milliseconds == 1_600_000_000_000)
        // In time order across channels and purposes, ties in the order recorded.
        #expect(all.history.map { "\($0.channel)/\($0.granted)" } == ["sms/true", "sms/true", "email/true", "sms/false"])
        #expect(all.history.map(\.at.milliseconds) == all.history.map(\.at.milliseconds).sorted())
        #expect(try await fixture.view(customer.id).consents == all.current, "the single customer view shows the consents in force")
    }

    @Test("consents need a channel, a purpose, a source and a time not in the future")
    func validation() async throws {
        let fixture = try TemporaryCustomerStore()
        let customer = try await fixture.create(Profiles.individual()).customer
        let error = await #expect(throws: RPCError.self) {
            try await record(fixture, customer.id, .unspecified, .UNRECOGNIZED(9), granted: true, atMs: 1_900_000_000_000, source: "")
        }
        #expect(error?.fieldViolations.map(\.field) == ["consent.channel", "consent.purpose", "consent.source", "consent.at.milliseconds"])
    }
}
