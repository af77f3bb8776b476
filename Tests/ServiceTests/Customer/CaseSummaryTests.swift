@testable import CustomerService
import Foundation
import GRDB
import ServiceRuntime
import SwiftProtobuf
import Testing
import WireProtocol
internal import CRMAPI

/// The customer view's cases, kept from ServiceDesk's change feed (`CaseSummaries.apply`, as the
/// feed consumer calls it inside its transaction).
@Suite("Case summaries in the customer view")
struct CaseSummaryTests {
    static func event(
        _ type: String, id: String, customer: String, status: Crm_Servicedesk_V1_CaseStatus, at: Int64, breached: Bool = false
    ) throws -> Crm_Feed_V1_ChangeEvent {
        var found = Crm_Servicedesk_V1_Case()
        (found.id, found.customerID, found.kind, found.category, found.status) = (id, customer, .complaint, "cards/fees", status)
        (found.subject, found.openedAt.milliseconds) = ("annual fee charged twice", 1_000)
        var sla = Crm_Servicedesk_V1_SlaClock()
        (sla.metric, sla.state) = (.resolution, breached ? .breached : .inProgress)
        found.slas = [sla]
        var payload = Crm_Servicedesk_V1_CaseChanged()
        payload.case = found
        var event = Crm_Feed_V1_ChangeEvent()
        (event.type, event.entityKey, event.at.milliseconds, event.payload) = (type, id, at, try payload.serializedBytes())
        return event
    }

    static func view(_ fixture: TemporaryCustomerStore, _ id: String) async throws -> Crm_Customer_V1_CustomerView {
        try await fixture.view(id)
    }

    static func apply(_ fixture: TemporaryCustomerStore, _ events: Crm_Feed_V1_ChangeEvent...) async throws {
        try await fixture.write { _, db in for event in events { try CaseSummaries.apply(event, db) } }
    }

    @Test("each case shows its latest state, unfinished first; replaying an event changes nothing; other events are ignored")
    func latestState() async throws {
        let fixture = try TemporaryCustomerStore()
        let customer = try await fixture.create(Profiles.individual()).customer
        try await Self.apply(
            fixture,
            try Self.event("case.opened", id: "K0000000001", customer: customer.id, status: .new, at: 2_000),
            try Self.event("case.opened", id: "K0000000002", customer: customer.id, status: .new, at: 3_000),
            try Self.event("case.transitioned", id: "K0000000001", customer: customer.id, status: .closed, at: 4_000),
            try Self.event("sla.breached", id: "K0000000002", customer: customer.id, status: .new, at: 5_000, breached: true),
            try Self.event("article.saved", id: "A0000000001", customer: "", status: .unspecified, at: 6_000))
        let replayed = try Self.event("case.transitioned", id: "K0000000001", customer: customer.id, status: .closed, at: 4_000)
        try await Self.apply(fixture, replayed)
        let view = try await Self.view(fixture, customer.id)
        #expect(view.openCases == 1)
        #expect(view.cases.map(\.caseID) == ["K0000000002", "K0000000001"])
        #expect(view.cases.map(\.caseStatus) == [.new, .closed])
        #expect(view.cases[0].slaBreached && !view.cases[1].slaBreached)
        #expect(view.cases[0].caseKind == .complaint && view.cases[0].subject == "annual fee charged twice")
        #expect(view.cases[0].updatedAt.milliseconds == 5_000)
        // The contact history has the openings, once each however often they are applied.
        try await Self.apply(fixture, try Self.event("case.opened", id: "K0000000002", customer: customer.id, status: .new, at: 3_000))
        let history = view.recentInteractions.filter { $0.handledBy == "servicedesk" }
        #expect(history.map(\.subject).sorted() == ["complaint K0000000001: annual fee charged twice", "complaint K0000000002: annual fee charged twice"])
        let again = try await Self.view(fixture, customer.id).recentInteractions.filter { $0.handledBy == "servicedesk" }
        #expect(again.count == 2)
    }

    @Test("the count of unfinished cases is right whether or not the listed cases reach the limit, and whatever the last one listed is")
    func unfinishedCountAtEveryLimit() async throws {
        let fixture = try TemporaryCustomerStore()
        let customer = try await fixture.create(Profiles.individual()).customer
        try await Self.apply(
            fixture,
            try Self.event("case.opened", id: "K0000000001", customer: customer.id, status: .new, at: 2_000),
            try Self.event("case.opened", id: "K0000000002", customer: customer.id, status: .new, at: 3_000),
            try Self.event("case.opened", id: "K0000000003", customer: customer.id, status: .new, at: 4_000),
            try Self.event("case.opened", id: "K0000000004", customer: customer.id, status: .new, at: 5_000),
            try Self.event("case.transitioned", id: "K0000000004", customer: customer.id, status: .closed, at: 6_000))
        let key = try #require(CustomerRecords.key(fromID: customer.id))
        for limit in 1...6 {
            let (cases, open) = try await fixture.read { _, db in try CaseSummaries.forView(customerKey: key, limit: limit, db) }
            #expect(open == 3, "limit \(limit)")
            #expect(cases.map(\.caseID) == Array(["K0000000003", "K0000000002", "K0000000001", "K0000000004"].prefix(limit)), "limit \(limit)")
        }
    }

    @Test("the unfinished count is queried only when the list is full and every listed one is unfinished")
    func unfinishedCountQueriedOnlyWhenNeeded() {
        var queries = 0
        func count(_ finished: [Bool], limit: Int) -> Int {
            SummaryCount.unfinished(finished, limit: limit) {
                queries += 1
                return 99
            }
        }
        #expect(count([], limit: 20) == 0)
        #expect(count([false, false, true], limit: 20) == 2)
        #expect(count([false, true], limit: 2) == 1, "full, but the last listed is finished: all unfinished ones are listed")
        #expect(queries == 0)
        #expect(count([false, false], limit: 2) == 99, "full of unfinished ones: there may be more")
        #expect(queries == 1)
    }

    @Test("opportunities from Marketing's feed: latest state, open first, following a re-key; campaign contacts go into the contact history")
    func opportunities() async throws {
        let fixture = try TemporaryCustomerStore()
        let first = try await fixture.create(Profiles.individual()).customer
        let second = try await fixture.create(Profiles.individual(nameZh: "李四", residentID: nil, phone: "13900001111")).customer
        func opportunity(_ type: String, _ id: String, customer: String, stage: Crm_Marketing_V1_OpportunityStage, at: Int64) throws -> Crm_Feed_V1_ChangeEvent {
            var opportunity = Crm_Marketing_V1_Opportunity()
            (opportunity.id, opportunity.customerID, opportunity.product, opportunity.stage) = (id, customer, "wealth/fund-a", stage)
            (opportunity.amountMinor, opportunity.currency, opportunity.ownerRmID) = (2_000_000, "CNY", "RM001")
            var payload = Crm_Marketing_V1_OpportunityChanged()
            payload.opportunity = opportunity
            var event = Crm_Feed_V1_ChangeEvent()
            (event.type, event.entityKey, event.at.milliseconds, event.payload) = (type, id, at, try payload.serializedBytes())
            return event
        }
        let events = [
            try opportunity("opportunity.created", "O0000000001", customer: first.id, stage: .lead, at: 1_000),
            try opportunity("opportunity.created", "O0000000002", customer: first.id, stage: .lead, at: 2_000),
            try opportunity("opportunity.moved", "O0000000001", customer: first.id, stage: .won, at: 3_000),
            try opportunity("opportunity.rekeyed", "O0000000002", customer: second.id, stage: .lead, at: 4_000),
        ]
        try await fixture.write { _, db in for event in events { try OpportunitySummaries.apply(event, db) } }
        let view = try await Self.view(fixture, first.id)
        #expect(view.opportunities.map { "\($0.opportunityID) \($0.opportunityStage)" } == ["O0000000001 won"])
        #expect(view.openOpportunities == 0)
        let survivor = try await Self.view(fixture, second.id)
        #expect(survivor.opportunities.map(\.opportunityID) == ["O0000000002"] && survivor.openOpportunities == 1)

        var campaign = Crm_Marketing_V1_CampaignChanged()
        (campaign.campaign.id, campaign.campaign.name, campaign.campaign.channel, campaign.campaign.product) = ("M0000000001", "Spring fund", "sms", "wealth/fund-a")
        (campaign.customerID, campaign.response) = (first.id, .contacted)
        var contact = Crm_Feed_V1_ChangeEvent()
        (contact.type, contact.entityKey, contact.at.milliseconds, contact.payload) = ("campaign.response", "M0000000001", 5_000, try campaign.serializedBytes())
        let contactEvent = contact
        try await fixture.write { _, db in
            try OpportunitySummaries.apply(contactEvent, db)
            try OpportunitySummaries.apply(contactEvent, db)  // a replay adds nothing
        }
        let history = try await Self.view(fixture, first.id).recentInteractions.filter { $0.handledBy == "marketing" }
        #expect(history.map { "\($0.channel) \($0.subject) \($0.outcome)" } == ["digital campaign M0000000001: Spring fund contacted (wealth/fund-a)"])
    }

    @Test("a case re-keyed to the survivor of a merge moves to the survivor's view; an erased customer keeps none")
    func rekeyAndErase() async throws {
        let fixture = try TemporaryCustomerStore()
        let first = try await fixture.create(Profiles.individual()).customer
        let second = try await fixture.create(Profiles.individual(nameZh: "李四", residentID: nil, phone: "13900001111")).customer
        try await Self.apply(fixture, try Self.event("case.opened", id: "K0000000001", customer: first.id, status: .new, at: 2_000))
        try await Self.apply(fixture, try Self.event("case.rekeyed", id: "K0000000001", customer: second.id, status: .new, at: 3_000))
        #expect(try await Self.view(fixture, first.id).cases.isEmpty)
        #expect(try await Self.view(fixture, second.id).cases.map(\.caseID) == ["K0000000001"])

        var erase = Crm_Customer_V1_EraseCustomerRequest()
        (erase.id, erase.expectedVersion, erase.basis) = (second.id, second.version, "PIPL art. 47")
        let request = erase
        _ = try await fixture.write { directory, db in try directory.erase(request, caller: .servicing, db) }
        #expect(try await fixture.read { _, db in try Int.fetchOne(db, sql: "SELECT count(*) FROM case_summary") } == 0)
        try await Self.apply(fixture, try Self.event("case.transitioned", id: "K0000000001", customer: second.id, status: .assigned, at: 4_000))
        #expect(try await fixture.read { _, db in try Int.fetchOne(db, sql: "SELECT count(*) FROM case_summary") } == 0)

        // An event naming no customer id is refused, so the consumer retries it and then dead-letters it.
        await #expect(throws: RPCError.self) {
            try await Self.apply(fixture, try Self.event("case.opened", id: "K0000000002", customer: "nobody", status: .new, at: 5_000))
        }
    }
}
