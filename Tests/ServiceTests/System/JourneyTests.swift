import Foundation
import ServiceRuntime
import SwiftProtobuf
import TestSupport
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// Journeys through the gateway over the whole system (``CRMSystem``): what a bank's channels do,
/// end to end, across all three services and their change feeds.
@Suite("System journeys", .serialized)
struct JourneyTests {
    /// A request from protobuf's JSON mapping, as callers in other languages write it.
    static func json<Message: SwiftProtobuf.Message>(_ text: String, as type: Message.Type = Message.self) throws -> Message {
        try Message(jsonString: text)
    }

    /// Calls until `body` succeeds: a service learns of a new customer from the feed a moment later.
    static func retrying<T: Sendable>(_ what: String, seconds: Double = 30, _ body: @Sendable () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while true {
            do {
                return try await body()
            } catch {
                if ContinuousClock.now > deadline { throw ServerProcessError(message: "\(what): still failing after \(seconds) s: \(error)") }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    struct NotYet: Error, CustomStringConvertible {
        var description: String
    }

    static func individual(_ nameZh: String, _ nameLatin: String, birthDate: String, sequence: Int, phone: String) -> Crm_Customer_V1_CreateCustomerRequest {
        var request = Crm_Customer_V1_CreateCustomerRequest()
        request.profile = Profiles.individual(
            nameZh: nameZh, nameLatin: nameLatin, birthDate: birthDate,
            residentID: Profiles.residentID(birthDate: birthDate, sequence: sequence), phone: phone)
        return request
    }

    @Test("onboarding: two people and their household, accounts from core banking, a duplicate warned about, the single customer view complete and masked for reporting")
    func onboarding() async throws {
        let system = try await CRMSystem.start()
        let client = system.client()
        let wang = try await client.unary(CustomerMethods.create, Self.individual("王建国", "Wang Jianguo", birthDate: "1970-03-05", sequence: 11, phone: "13800000011")).customer
        let li = try await client.unary(CustomerMethods.create, Self.individual("李秀英", "Li Xiuying", birthDate: "1972-08-19", sequence: 12, phone: "13800000012")).customer

        var household = Crm_Customer_V1_CreateHouseholdRequest()
        household.name = "王家"
        for (customer, role) in [(wang, Crm_Customer_V1_HouseholdRole.head), (li, .spouse)] {
            var member = Crm_Customer_V1_HouseholdMember()
            member.customerID = customer.id
            member.role = role
            household.members.append(member)
        }
        _ = try await client.unary(CustomerMethods.createHousehold, household)

        let accounts: Crm_Customer_V1_UpsertAccountsRequest = try Self.json(
            #"{"holdings": [{"accountNumber": "6222020200009001", "customerId": "\#(wang.id)", "productType": "PRODUCT_TYPE_CURRENT", "role": "OWNERSHIP_ROLE_OWNER", "balanceMinor": "12000000", "currency": "CNY", "openedOn": "2015-03-02"}, {"accountNumber": "TD20269001", "customerId": "\#(wang.id)", "productType": "PRODUCT_TYPE_TIME_DEPOSIT", "role": "OWNERSHIP_ROLE_OWNER", "balanceMinor": "50000000", "currency": "CNY", "openedOn": "2026-05-01", "maturityDate": "2027-05-01"}]}"#)
        _ = try await client.unary(CustomerMethods.upsertAccounts, accounts)

        // The same man from another channel, Latin name and the same phone: created, with a warning.
        var again = Crm_Customer_V1_CreateCustomerRequest()
        again.profile = Profiles.individual(nameZh: "", nameLatin: "Jianguo Wang", birthDate: "1970-03-05", residentID: nil, phone: "+86 138 0000 0011")
        let duplicate = try await client.unary(CustomerMethods.create, again)
        #expect(duplicate.possibleDuplicates.contains { $0.customerID == wang.id }, "\(duplicate.possibleDuplicates)")

        var viewRequest = Crm_Customer_V1_GetCustomerViewRequest()
        viewRequest.id = wang.id
        let view = try await client.unary(CustomerMethods.getView, viewRequest).view
        #expect(view.accounts.count == 2)
        #expect(view.totals.first?.assetsMinor == 62_000_000)
        #expect(view.household.household.members.count == 2)
        #expect(view.customer.profile.documents.first?.number == Profiles.residentID(birthDate: "1970-03-05", sequence: 11))

        // Reporting sees the same view with the identity number masked.
        let reporting = system.client(.reporting)
        let masked = try await reporting.unary(CustomerMethods.getView, viewRequest).view
        #expect(masked.customer.profile.documents.first?.number.contains("*") == true)
        await #expect(throws: RPCError.self) { _ = try await reporting.unary(CustomerMethods.create, again) }

        // The other services learned of all three customers through the feed.
        _ = try await Self.retrying("marketing mirror") {
            let count = try await client.unary(MarketingMethods.countSegment, try Self.json(#"{"filter": {"all": [{"field": "SEGMENT_FIELD_BRANCH", "op": "SEGMENT_OPERATOR_EQUALS", "values": ["BJ-01"]}]}}"#)).customers
            guard count >= 3 else { throw NotYet(description: "marketing mirror holds \(count)") }
            return count
        }
        await client.close()
        await reporting.close()
        let statuses = await system.shutdown()
        #expect(statuses.values.allSatisfy { $0 == 0 }, "\(statuses)")
    }

    @Test("finding people by what staff type: pinyin with or without spaces, initials, a prefix, a wrong character that sounds alike")
    func pinyinSearch() async throws {
        let system = try await CRMSystem.start()
        let client = system.client()
        for (index, name) in ["张三", "欧阳修", "张珊", "李雷"].enumerated() {
            let request: Crm_Customer_V1_CreateCustomerRequest = try Self.json(
                #"{"profile": {"kind": "CUSTOMER_KIND_INDIVIDUAL", "individual": {"nameZh": "\#(name)"}, "relationshipManagerId": "RM001", "branchId": "BJ-01", "contacts": [{"kind": "CONTACT_KIND_PHONE", "value": "1370000000\#(index)"}]}}"#)
            _ = try await client.unary(CustomerMethods.create, request)
        }
        func found(_ json: String) async throws -> [String] {
            try await client.unary(CustomerMethods.search, try Self.json(json)).customers.map { "\($0.displayName):\($0.matchScore)" }
        }
        for typed in ["zhangsan", "zhang san", "Zhang San", "zs"] {
            #expect(try await found(#"{"name": "\#(typed)"}"#).first == (typed == "zs" ? "张三:90" : "张三:95"), "\(typed)")
            #expect(try await found(#"{"namePrefix": "\#(typed)"}"#) == (typed == "zs" ? ["张三:0", "张珊:0"] : ["张三:0"]), "\(typed)")
        }
        #expect(try await found(#"{"name": "zhang"}"#) == ["张三:80", "张珊:80"])
        #expect(try await found(#"{"name": "ouyang"}"#) == ["欧阳修:80"])
        #expect(try await found(#"{"name": "ouyangxiu"}"#) == ["欧阳修:95"])
        #expect(try await found(#"{"fuzzyName": "张山"}"#) == ["张珊:95", "张三:79"])
        #expect(try await found(#"{"fuzzyName": "李蕾"}"#) == ["李雷:95"])
        await client.close()
        await system.expectCleanShutdown()
    }
}

extension JourneyTests {
    @Test("complaint: filed by the call centre, SLA clocks running, resolved with a satisfaction score; the single customer view shows it, resolved")
    func complaint() async throws {
        let system = try await CRMSystem.start()
        let client = system.client()
        let customer = try await client.unary(CustomerMethods.create, Self.individual("赵敏", "Zhao Min", birthDate: "1985-01-20", sequence: 21, phone: "13800000021")).customer
        _ = try await client.unary(
            ServiceDeskMethods.setSlaPolicies,
            try Self.json(#"{"policies": [{"kind": "CASE_KIND_COMPLAINT", "priority": "CASE_PRIORITY_HIGH", "firstResponseMinutes": 60, "resolutionMinutes": 480, "warningPercent": 75}]}"#))
        let open: Crm_Servicedesk_V1_OpenCaseRequest = try Self.json(
            #"{"kind": "CASE_KIND_COMPLAINT", "category": "cards/fees", "channel": "CASE_CHANNEL_PHONE", "priority": "CASE_PRIORITY_HIGH", "customerId": "\#(customer.id)", "subject": "annual fee charged twice", "queue": "complaints"}"#)
        // ServiceDesk accepts the customer once the customer feed brought it.
        let opened = try await Self.retrying("open the case") { try await client.unary(ServiceDeskMethods.openCase, open).case }
        #expect(opened.slas.count == 2, "first response and resolution clocks: \(opened.slas)")

        var version = opened.version
        for event in [#""event": "CASE_EVENT_ASSIGN", "assignee": "agent-7""#, #""event": "CASE_EVENT_START""#,
                      #""event": "CASE_EVENT_RESOLVE", "resolution": {"rootCause": "duplicate posting", "resolutionCode": "REFUNDED", "compensationMinor": "30000", "compensationCurrency": "CNY"}"#] {
            let transition: Crm_Servicedesk_V1_TransitionCaseRequest = try Self.json(#"{"id": "\#(opened.id)", "expectedVersion": "\#(version)", \#(event)}"#)
            version = try await client.unary(ServiceDeskMethods.transitionCase, transition).case.version
        }
        var satisfaction = Crm_Servicedesk_V1_RecordSatisfactionRequest()
        satisfaction.caseID = opened.id
        satisfaction.score = 4
        _ = try await client.unary(ServiceDeskMethods.recordSatisfaction, satisfaction)

        // The customer view shows the case, resolved, from ServiceDesk's feed.
        let viewRequest: Crm_Customer_V1_GetCustomerViewRequest = try Self.json(#"{"id": "\#(customer.id)"}"#)
        let summary = try await Self.retrying("the case in the customer view") {
            let view = try await client.unary(CustomerMethods.getView, viewRequest).view
            guard let summary = view.cases.first(where: { $0.caseID == opened.id }), summary.resolvedAt.milliseconds > 0 else {
                throw NotYet(description: "view cases: \(view.cases)")
            }
            return summary
        }
        #expect(summary.subject == "annual fee charged twice")
        #expect(summary.caseKind == .complaint)
        await client.close()
        await system.expectCleanShutdown()
    }

    @Test("merge: a duplicate with a case and an opportunity is merged; ServiceDesk and Marketing re-key both to the survivor; unmerge gives them back")
    func mergeAcrossServices() async throws {
        let system = try await CRMSystem.start()
        let client = system.client()
        let survivor = try await client.unary(CustomerMethods.create, Self.individual("孙丽", "Sun Li", birthDate: "1990-06-01", sequence: 31, phone: "13800000031")).customer
        var second = Crm_Customer_V1_CreateCustomerRequest()
        second.profile = Profiles.individual(nameZh: "孙丽", nameLatin: "Sun Li", birthDate: "1990-06-01", residentID: nil, phone: "13800000032")
        let duplicate = try await client.unary(CustomerMethods.create, second).customer

        let open: Crm_Servicedesk_V1_OpenCaseRequest = try Self.json(
            #"{"kind": "CASE_KIND_COMPLAINT", "category": "cards/fees", "channel": "CASE_CHANNEL_PHONE", "priority": "CASE_PRIORITY_HIGH", "customerId": "\#(duplicate.id)", "subject": "card blocked", "queue": "complaints"}"#)
        let caseID = try await Self.retrying("open the case") { try await client.unary(ServiceDeskMethods.openCase, open).case.id }
        let create: Crm_Marketing_V1_CreateOpportunityRequest = try Self.json(
            #"{"customerId": "\#(duplicate.id)", "product": "wealth/fund-a", "amountMinor": "2000000", "currency": "CNY", "ownerRmId": "RM001", "expectedCloseDate": "2027-06-30"}"#)
        let opportunityID = try await Self.retrying("create the opportunity") { try await client.unary(MarketingMethods.createOpportunity, create).opportunity.id }

        var merge = Crm_Customer_V1_MergeCustomersRequest()
        (merge.survivorID, merge.survivorExpectedVersion, merge.mergedID, merge.mergedExpectedVersion, merge.reason) =
            (survivor.id, survivor.version, duplicate.id, duplicate.version, "same person, two records")
        let merged = try await client.unary(CustomerMethods.merge, merge)
        try await expectOwners(client, caseID: caseID, opportunityID: opportunityID, are: survivor.id)

        var unmerge = Crm_Customer_V1_UnmergeCustomersRequest()
        unmerge.mergeID = merged.mergeID
        unmerge.reason = "merged in error"
        _ = try await client.unary(CustomerMethods.unmerge, unmerge)
        try await expectOwners(client, caseID: caseID, opportunityID: opportunityID, are: duplicate.id)
        await client.close()
        await system.expectCleanShutdown()
    }

    /// Waits until ServiceDesk's case and Marketing's opportunity both belong to `customer`.
    private func expectOwners(_ client: RPCClient, caseID: String, opportunityID: String, are customer: String) async throws {
        let getCase: Crm_Servicedesk_V1_GetCaseRequest = try Self.json(#"{"id": "\#(caseID)"}"#)
        let getOpportunity: Crm_Marketing_V1_GetOpportunityRequest = try Self.json(#"{"id": "\#(opportunityID)"}"#)
        try await Self.retrying("case and opportunity owned by \(customer)") {
            let owner = try await client.unary(ServiceDeskMethods.getCase, getCase).case.customerID
            let opportunityOwner = try await client.unary(MarketingMethods.getOpportunity, getOpportunity).opportunity.customerID
            guard owner == customer, opportunityOwner == customer else {
                throw NotYet(description: "case owner \(owner), opportunity owner \(opportunityOwner)")
            }
        }
    }
}

extension JourneyTests {
    @Test("erasure: without a hold the person's names, identity number and phone leave all three databases and the change logs; with a legal hold nothing changes and the answer names the hold")
    func erasure() async throws {
        let system = try await CRMSystem.start()
        let client = system.client()
        let document = Profiles.residentID(birthDate: "1982-04-09", sequence: 41)
        let erased = try await client.unary(CustomerMethods.create, Self.individual("周杰伦", "Zhou Jielun", birthDate: "1982-04-09", sequence: 41, phone: "13800000041")).customer
        let held = try await client.unary(CustomerMethods.create, Self.individual("吴彦祖", "Wu Yanzu", birthDate: "1974-09-30", sequence: 42, phone: "13800000042")).customer
        _ = try await client.unary(
            CustomerMethods.placeLegalHold,
            try Self.json(#"{"id": "\#(held.id)", "basis": "AML Law art. 19: 5 years after the relationship ends", "untilDate": "2031-12-31"}"#))

        // Both known everywhere first: a complaint each, and in Marketing's mirror.
        for customer in [erased, held] {
            let open: Crm_Servicedesk_V1_OpenCaseRequest = try Self.json(
                #"{"kind": "CASE_KIND_COMPLAINT", "category": "cards/fees", "channel": "CASE_CHANNEL_PHONE", "priority": "CASE_PRIORITY_HIGH", "customerId": "\#(customer.id)", "subject": "statement missing", "queue": "complaints"}"#)
            _ = try await Self.retrying("open a case") { try await client.unary(ServiceDeskMethods.openCase, open) }
        }
        #expect(await eventually(seconds: 30) { (try? await system.places(.marketing, holding: "Wu Yanzu"))?.isEmpty == false })

        let eraseRequest: Crm_Customer_V1_EraseCustomerRequest = try Self.json(
            #"{"id": "\#(erased.id)", "expectedVersion": "\#(erased.version)", "basis": "PIPL art. 47 request 2026-0412"}"#)
        #expect(try await client.unary(CustomerMethods.erase, eraseRequest).erased)
        let current = try await client.unary(CustomerMethods.get, try Self.json(#"{"id": "\#(held.id)"}"#)).customer
        let refused = try await client.unary(
            CustomerMethods.erase, try Self.json(#"{"id": "\#(held.id)", "expectedVersion": "\#(current.version)", "basis": "PIPL art. 47 request 2026-0413"}"#))
        #expect(!refused.erased)
        #expect(refused.heldByBasis.hasPrefix("AML Law"))

        // Gone from every table of every service, the change logs included, once the feeds delivered the erasure.
        let left = Recorder<[String]>([])
        let clean = await eventually(seconds: 30) {
            var found: [String] = []
            for server in [CRMSystem.Server.customer, .servicedesk, .marketing] {
                for secret in ["周杰伦", "Zhou Jielun", document, "13800000041"] {
                    found += ((try? await system.places(server, holding: secret)) ?? ["unreadable"]).map { "\(server) \($0): \(secret)" }
                }
            }
            left.update { [found] in $0 = found }
            return found.isEmpty
        }
        #expect(clean, "still held: \(left.value)")
        // The held customer keeps everything.
        #expect(try await system.places(.customer, holding: "Wu Yanzu").isEmpty == false)
        #expect(try await system.places(.servicedesk, holding: "Wu Yanzu").isEmpty == false)
        await client.close()
        await system.expectCleanShutdown()
    }
}

extension JourneyTests {
    /// `yyyy-MM-dd`, `days` from today (UTC).
    static func date(_ days: Int) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return formatter.string(from: Date().addingTimeInterval(Double(days) * 86_400))
    }

    @Test("sales: a campaign to a segment; a complaint keeps its customer out of the active campaign's export; a response, an opportunity won, the funnel, the contribution report and the customer view")
    func sales() async throws {
        let system = try await CRMSystem.start()
        let client = system.client()
        let buyer = try await client.unary(CustomerMethods.create, Self.individual("钱进", "Qian Jin", birthDate: "1978-02-14", sequence: 51, phone: "13800000051")).customer
        let unhappy = try await client.unary(CustomerMethods.create, Self.individual("孔乐", "Kong Le", birthDate: "1981-07-07", sequence: 52, phone: "13800000052")).customer
        for customer in [buyer, unhappy] {
            _ = try await client.unary(
                CustomerMethods.recordConsent,
                try Self.json(#"{"customerId": "\#(customer.id)", "consent": {"channel": "CHANNEL_SMS", "purpose": "CONSENT_PURPOSE_MARKETING", "granted": true, "source": "branch form"}}"#))
        }
        _ = try await client.unary(
            CustomerMethods.upsertAccounts,
            try Self.json(#"{"holdings": [{"accountNumber": "6222020200005101", "customerId": "\#(buyer.id)", "productType": "PRODUCT_TYPE_CURRENT", "role": "OWNERSHIP_ROLE_OWNER", "balanceMinor": "8000000", "currency": "CNY", "openedOn": "2019-01-02", "monthlyContributionMinor": "15000"}]}"#))

        let segment = try await client.unary(
            MarketingMethods.saveSegment,
            try Self.json(#"{"name": "Beijing savers", "filter": {"all": [{"field": "SEGMENT_FIELD_BRANCH", "op": "SEGMENT_OPERATOR_EQUALS", "values": ["BJ-01"]}]}}"#)).segment
        var campaign = try await client.unary(
            MarketingMethods.createCampaign,
            try Self.json(#"{"name": "Fund A by SMS", "channel": "sms", "product": "wealth/fund-a", "budgetMinor": "1000000", "currency": "CNY", "startDate": "\#(Self.date(0))", "endDate": "\#(Self.date(30))", "segmentId": "\#(segment.id)"}"#)).campaign
        // Built again until Marketing's mirror has both customers with their consent.
        let draft = Recorder(campaign)
        campaign = try await Self.retrying("both customers on the list") {
            let current = draft.value
            let built = try await client.unary(
                MarketingMethods.buildTargetList, try Self.json(#"{"id": "\#(current.id)", "expectedVersion": "\#(current.version)"}"#)).campaign
            draft.update { $0 = built }
            guard built.targets == 2 else { throw NotYet(description: "targets \(built.targets), suppressed \(built.suppressed)") }
            return built
        }
        for status in ["CAMPAIGN_STATUS_SCHEDULED", "CAMPAIGN_STATUS_ACTIVE"] {
            campaign = try await client.unary(
                MarketingMethods.setCampaignStatus, try Self.json(#"{"id": "\#(campaign.id)", "expectedVersion": "\#(campaign.version)", "status": "\#(status)"}"#)).campaign
        }

        // A complaint after the list was built: the channel system no longer gets that customer.
        let open: Crm_Servicedesk_V1_OpenCaseRequest = try Self.json(
            #"{"kind": "CASE_KIND_COMPLAINT", "category": "cards/fees", "channel": "CASE_CHANNEL_PHONE", "priority": "CASE_PRIORITY_HIGH", "customerId": "\#(unhappy.id)", "subject": "fee", "queue": "complaints"}"#)
        _ = try await Self.retrying("open the complaint") { try await client.unary(ServiceDeskMethods.openCase, open) }
        let exportRequest: Crm_Marketing_V1_ExportTargetListRequest = try Self.json(#"{"campaignId": "\#(campaign.id)"}"#)
        let exported = try await Self.retrying("the complaint reaches Marketing") {
            var ids: [String] = []
            for try await entry in try await client.connection().serverStream(MarketingMethods.exportTargetList, exportRequest) { ids.append(entry.customerID) }
            guard ids == [buyer.id] else { throw NotYet(description: "exported \(ids)") }
            return ids
        }
        #expect(exported == [buyer.id])

        // The buyer responds, and buys: an opportunity through to won.
        _ = try await client.unary(
            MarketingMethods.recordCampaignResponse,
            try Self.json(#"{"campaignId": "\#(campaign.id)", "customerId": "\#(buyer.id)", "response": "CAMPAIGN_RESPONSE_INTERESTED"}"#))
        var opportunity = try await client.unary(
            MarketingMethods.createOpportunity,
            try Self.json(#"{"customerId": "\#(buyer.id)", "product": "wealth/fund-a", "amountMinor": "5000000", "currency": "CNY", "ownerRmId": "RM001", "expectedCloseDate": "\#(Self.date(20))"}"#)).opportunity
        for stage in ["OPPORTUNITY_STAGE_QUALIFIED", "OPPORTUNITY_STAGE_PROPOSAL", "OPPORTUNITY_STAGE_WON"] {
            opportunity = try await client.unary(
                MarketingMethods.moveOpportunity, try Self.json(#"{"id": "\#(opportunity.id)", "expectedVersion": "\#(opportunity.version)", "stage": "\#(stage)"}"#)).opportunity
        }
        _ = try await client.unary(
            MarketingMethods.recordCampaignResponse,
            try Self.json(#"{"campaignId": "\#(campaign.id)", "customerId": "\#(buyer.id)", "response": "CAMPAIGN_RESPONSE_CONVERTED"}"#))
        let funnel = try await client.unary(MarketingMethods.campaignReport, try Self.json(#"{"id": "\#(campaign.id)"}"#))
        #expect((funnel.targets, funnel.converted) == (2, 1))

        let contribution = try await Self.retrying("the contribution report") {
            let report = try await client.unary(MarketingMethods.contributionReport, try Self.json(#"{"groupBy": "CONTRIBUTION_GROUPING_CUSTOMER"}"#))
            guard let row = report.rows.first(where: { $0.key == buyer.id }) else { throw NotYet(description: "\(report.rows)") }
            return row
        }
        #expect(contribution.monthlyContributionMinor == 15_000)

        let viewRequest: Crm_Customer_V1_GetCustomerViewRequest = try Self.json(#"{"id": "\#(buyer.id)"}"#)
        let won = opportunity
        let summary = try await Self.retrying("the won opportunity in the customer view") {
            let view = try await client.unary(CustomerMethods.getView, viewRequest).view
            guard let summary = view.opportunities.first(where: { $0.opportunityID == won.id }), summary.opportunityStage == .won else {
                throw NotYet(description: "\(view.opportunities)")
            }
            return summary
        }
        #expect(summary.product == "wealth/fund-a")
        await client.close()
        await system.expectCleanShutdown()
    }
}
