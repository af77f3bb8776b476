import Foundation
import GRDB
import MarketingService
import ServiceRuntime
import SwiftProtobuf
import Testing
import TestSupport
import WireProtocol
internal import CRMAPI

/// Campaigns against a fixture with one customer for each suppression reason; the funnel and the
/// control group's conversion are worked out by hand.
@Suite("Marketing campaigns")
struct CampaignTests {
    typealias Market = PipelineTests.Market

    static func sms() -> [Crm_Customer_V1_Consent] { [SegmentTests.consent(.sms)] }

    static func write<T: Sendable>(_ market: Market, _ body: @escaping @Sendable (Campaigns, Database) throws -> T) async throws -> T {
        try await market.write { pipeline, db in try body(Campaigns(pipeline: pipeline), db) }
    }

    static func campaign(_ market: Market, segment: String, control: UInt32 = 0, cap: (UInt32, UInt32) = (0, 0)) async throws
        -> Crm_Marketing_V1_Campaign
    {
        var request = Crm_Marketing_V1_CreateCampaignRequest()
        (request.name, request.channel, request.product, request.budgetMinor, request.currency) = ("Spring fund", "sms", "wealth/fund-a", 5_000_000, "CNY")
        (request.startDate, request.endDate, request.segmentID, request.controlPercent) = ("2027-03-01", "2027-03-31", segment, control)
        (request.frequencyCapContacts, request.frequencyCapDays) = cap
        let finished = request
        return try await write(market) { campaigns, db in try campaigns.create(finished, db) }.campaign
    }

    static func build(_ market: Market, _ campaign: Crm_Marketing_V1_Campaign) async throws -> Crm_Marketing_V1_Campaign {
        var request = Crm_Marketing_V1_BuildTargetListRequest()
        (request.id, request.expectedVersion) = (campaign.id, campaign.version)
        let finished = request
        return try await write(market) { campaigns, db in try campaigns.buildTargetList(finished, db) }.campaign
    }

    static func status(_ market: Market, _ campaign: Crm_Marketing_V1_Campaign, _ status: Crm_Marketing_V1_CampaignStatus) async throws
        -> Crm_Marketing_V1_Campaign
    {
        var request = Crm_Marketing_V1_SetCampaignStatusRequest()
        (request.id, request.expectedVersion, request.status) = (campaign.id, campaign.version, status)
        let finished = request
        return try await write(market) { campaigns, db in try campaigns.setStatus(finished, db) }.campaign
    }

    static func respond(_ market: Market, _ campaign: Crm_Marketing_V1_Campaign, _ customer: String, _ response: Crm_Marketing_V1_CampaignResponse)
        async throws -> Crm_Marketing_V1_RecordCampaignResponseResponse
    {
        var request = Crm_Marketing_V1_RecordCampaignResponseRequest()
        (request.campaignID, request.customerID, request.response) = (campaign.id, customer, response)
        let finished = request
        return try await write(market) { campaigns, db in try campaigns.recordResponse(finished, db) }
    }

    static func id(_ number: Int) -> String { "C" + String(format: "%010d", number) }

    @Test("the control group is exactly round(eligible x percent / 100), half up, and the same for the same list in any order")
    func controlGroupSize() {
        let eligible = (1...10).map(Self.id)
        for (count, percent, size) in [(0, 30, 0), (5, 30, 2), (7, 30, 2), (10, 25, 3), (3, 50, 2), (1, 50, 1), (10, 0, 0)] {
            #expect(Campaigns.controlGroup(Array(eligible.prefix(count)), campaignID: "M0000000001", percent: percent).count == size, "\(count) x \(percent)%")
        }
        let group = Campaigns.controlGroup(eligible, campaignID: "M0000000001", percent: 30)
        #expect(Set(Campaigns.controlGroup(eligible.reversed(), campaignID: "M0000000001", percent: 30)) == Set(group))
    }

    @Test("each suppression reason counted once per candidate, frequency caps across campaigns, the funnel and the uplift against the control group")
    func suppressionAndFunnel() async throws {
        let market = try Market()
        market.at(2027, 3, 1)
        let sms = Self.sms()
        for number in [1, 7, 8, 9, 10, 11, 12, 13] { try await market.customer(Self.id(number)) { $0.consents = sms } }
        try await market.customer(Self.id(2), type: "customer.merged", status: .merged, mergedInto: Self.id(1)) { $0.consents = sms }
        try await market.customer(Self.id(3), status: .inactive) { $0.consents = sms }
        try await market.customer(Self.id(4), status: .erased)
        try await market.customer(Self.id(5)) { $0.consents = [SegmentTests.consent(.email)] }
        try await market.customer(Self.id(6)) { $0.consents = sms }
        try await market.customer(Self.id(14), branch: "SH-02") { $0.consents = sms }  // not in the segment
        var found = Crm_Servicedesk_V1_Case()
        (found.id, found.customerID, found.kind, found.status) = ("K0000000001", Self.id(6), .complaint, .assigned)
        var payload = Crm_Servicedesk_V1_CaseChanged()
        payload.case = found
        var event = Crm_Feed_V1_ChangeEvent()
        (event.type, event.entityKey, event.payload) = ("case.opened", found.id, try payload.serializedBytes())
        let caseEvent = event
        try await market.write { pipeline, db in try MarketingMirror(pipeline: pipeline).applyCase(caseEvent, db) }

        var save = Crm_Marketing_V1_SaveSegmentRequest()
        save.name = "Beijing"
        save.filter.all = [SegmentTests.condition(.branch, .equals, "BJ-01")]
        let segmentRequest = save
        let segment = try await market.write { pipeline, db in try Segments(pipeline: pipeline).save(segmentRequest, db) }.segment

        // An earlier campaign contacts C7 twice and C13 once.
        var earlier = try await Self.campaign(market, segment: segment.id)
        let unscheduled = await #expect(throws: RPCError.self) { _ = try await Self.status(market, earlier, .scheduled) }
        #expect(unscheduled?.reason == "NO_TARGET_LIST")
        earlier = try await Self.build(market, earlier)
        #expect(earlier.targets == 8 && earlier.controls == 0)  // C1, C7-C13
        earlier = try await Self.status(market, try await Self.status(market, earlier, .scheduled), .active)
        _ = try await Self.respond(market, earlier, Self.id(7), .contacted)
        _ = try await Self.respond(market, earlier, Self.id(7), .interested)
        _ = try await Self.respond(market, earlier, Self.id(13), .contacted)

        // At most 2 contacts in 30 days; 30% held back.
        market.at(2027, 3, 10)
        var campaign = try await Self.build(market, try await Self.campaign(market, segment: segment.id, control: 30, cap: (2, 30)))
        #expect(campaign.suppressed.merged == 1)
        #expect(campaign.suppressed.deactivated == 2)  // inactive C3, erased C4
        #expect(campaign.suppressed.noConsent == 1)  // C5 consented to email only
        #expect(campaign.suppressed.openComplaint == 1)  // C6
        #expect(campaign.suppressed.frequencyCap == 1)  // C7; C13 was contacted once
        // Eligible: C1, C8-C13 (7); 30% of 7 = 2.1 -> 2 controls, 5 targets.
        #expect((campaign.targets, campaign.controls) == (5, 2))
        let eligible = [1, 8, 9, 10, 11, 12, 13].map(Self.id)
        let controls = Campaigns.controlGroup(eligible, campaignID: campaign.id, percent: 30)
        let targets = eligible.filter { !controls.contains($0) }
        let stored = try await market.store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT customer_id FROM campaign_member WHERE control = 1 ORDER BY customer_id")
        }
        #expect(stored == controls.sorted())

        campaign = try await Self.status(market, try await Self.status(market, campaign, .scheduled), .active)
        let notDraft = await #expect(throws: RPCError.self) { _ = try await Self.build(market, campaign) }
        #expect(notDraft?.reason == "CAMPAIGN_NOT_DRAFT")
        // Targets: contacted; interested; declined; contacted then converted; no answer. Controls: one bought anyway.
        _ = try await Self.respond(market, campaign, targets[0], .contacted)
        _ = try await Self.respond(market, campaign, targets[1], .interested)
        _ = try await Self.respond(market, campaign, targets[2], .declined)
        _ = try await Self.respond(market, campaign, targets[3], .contacted)
        #expect(try await Self.respond(market, campaign, targets[3], .converted).response == .converted)
        #expect(try await Self.respond(market, campaign, targets[3], .contacted).response == .converted, "a response never goes back")
        let control = try await Self.respond(market, campaign, controls[0], .converted)
        #expect(control.control)
        let contacted = await #expect(throws: RPCError.self) { _ = try await Self.respond(market, campaign, controls[1], .contacted) }
        #expect(contacted?.reason == "CONTROL_MEMBER")
        let stranger = await #expect(throws: RPCError.self) { _ = try await Self.respond(market, campaign, Self.id(14), .contacted) }
        #expect(stranger?.reason == "NOT_ON_LIST")

        var request = Crm_Marketing_V1_CampaignReportRequest()
        request.id = campaign.id
        let reportRequest = request
        let report = try await Self.write(market) { campaigns, db in try campaigns.report(reportRequest, db) }
        #expect([report.targets, report.contacted, report.interested, report.declined, report.converted] == [5, 4, 2, 1, 1])
        #expect([report.controls, report.controlsConverted] == [2, 1])
        // 1 of 5 = 20.00%; 1 of 2 = 50.00%; uplift -30.00 points.
        #expect(report.conversionBasisPoints == 2_000 && report.controlConversionBasisPoints == 5_000 && report.upliftBasisPoints == -3_000)
        #expect(report.suppressed == campaign.suppressed)

        // Every change is on Marketing's feed: 2 created, 2 lists, 2 x (scheduled, active), 7 responses recorded.
        #expect(try await market.events("campaign.created") == 2)
        #expect(try await market.events("campaign.list_built") == 2)
        #expect(try await market.events("campaign.status_changed") == 4)
        #expect(try await market.events("campaign.response") == 10)
        #expect(try await market.events("segment.saved") == 1)
        campaign = try await Self.status(market, campaign, .completed)
        let final = await #expect(throws: RPCError.self) { _ = try await Self.status(market, campaign, .cancelled) }
        #expect(final?.reason == "INVALID_TRANSITION")
        let closed = await #expect(throws: RPCError.self) { _ = try await Self.respond(market, campaign, targets[4], .contacted) }
        #expect(closed?.reason == "CAMPAIGN_NOT_ACTIVE")
    }
}
