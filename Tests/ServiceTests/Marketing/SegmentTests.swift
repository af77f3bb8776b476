import Foundation
import GRDB
import MarketingService
import ServiceRuntime
import SwiftProtobuf
import Testing
import TestSupport
import WireProtocol
internal import CRMAPI

/// Segments over Marketing's customer mirror, counted against a fixture whose members are worked
/// out by hand. Today is Monday 1 March 2027 (10:00 in Shanghai).
@Suite("Marketing segments")
struct SegmentTests {
    typealias Market = PipelineTests.Market

    static func consent(_ channel: Crm_Customer_V1_Channel, granted: Bool = true) -> Crm_Customer_V1_Consent {
        var consent = Crm_Customer_V1_Consent()
        (consent.channel, consent.purpose, consent.granted) = (channel, .marketing, granted)
        return consent
    }

    static func account(
        _ number: String, _ type: Crm_Customer_V1_ProductType, balance: Int64, contribution: Int64, maturity: String = ""
    ) -> Crm_Customer_V1_HeldAccount {
        var account = Crm_Customer_V1_HeldAccount()
        (account.accountNumber, account.productType, account.maturityDate) = (number, type, maturity)
        (account.reportingBalanceMinor, account.monthlyContributionMinor) = (balance, contribution)
        return account
    }

    static func fixture() async throws -> Market {
        let market = try Market()
        market.at(2027, 3, 1)
        try await market.customer("C0000000001") {
            ($0.kind, $0.valueGrade, $0.lifecycleStage, $0.birthDate, $0.reportingAssetsMinor) = (.individual, 1, .mature, "1960-03-01", 5_000_000)
            $0.consents = [consent(.sms)]
            $0.accounts = [
                account("6222000000000001", .timeDeposit, balance: 1_000_000, contribution: 2_000, maturity: "2027-03-10"),
                account("6222000000000002", .wealth, balance: 500_000, contribution: 3_000),
            ]
        }
        try await market.customer("C0000000002", branch: "SH-02") {
            ($0.kind, $0.valueGrade, $0.lifecycleStage, $0.birthDate, $0.reportingAssetsMinor) = (.individual, 2, .growing, "1960-03-02", 100)
            $0.relationshipManagerID = "RM002"
            $0.consents = [consent(.email), consent(.sms, granted: false)]
            $0.accounts = [account("6222000000000003", .loan, balance: 300_000, contribution: 1_500)]
        }
        try await market.customer("C0000000003") { ($0.kind, $0.valueGrade, $0.lifecycleStage) = (.corporate, 3, .dormant) }
        try await market.customer("C0000000004", status: .inactive) {
            ($0.kind, $0.valueGrade) = (.individual, 1)
            $0.accounts = [account("6222000000000004", .current, balance: 10_000, contribution: 9_999)]
        }
        try await market.customer("C0000000005") {
            ($0.kind, $0.valueGrade, $0.lifecycleStage, $0.birthDate) = (.individual, 5, .new, "2000-01-01")
        }
        // C5 has a complaint open at ServiceDesk.
        var found = Crm_Servicedesk_V1_Case()
        (found.id, found.customerID, found.kind, found.status) = ("K0000000001", "C0000000005", .complaint, .inProgress)
        var payload = Crm_Servicedesk_V1_CaseChanged()
        payload.case = found
        var event = Crm_Feed_V1_ChangeEvent()
        (event.type, event.entityKey, event.payload) = ("case.transitioned", found.id, try payload.serializedBytes())
        let finished = event
        try await market.write { pipeline, db in try MarketingMirror(pipeline: pipeline).applyCase(finished, db) }
        return market
    }

    static func condition(_ field: Crm_Marketing_V1_SegmentField, _ op: Crm_Marketing_V1_SegmentOperator, _ values: String...)
        -> Crm_Marketing_V1_SegmentCondition
    {
        var condition = Crm_Marketing_V1_SegmentCondition()
        (condition.field, condition.op, condition.values) = (field, op, values)
        return condition
    }

    static func members(_ market: Market, _ conditions: Crm_Marketing_V1_SegmentCondition...) async throws -> [String] {
        var request = Crm_Marketing_V1_ListSegmentMembersRequest()
        request.filter.all = conditions
        let finished = request
        let segments = Segments(pipeline: market.pipeline)
        return try await market.store.pool.read { db in try segments.members(finished, db) }.customerIds.map { String($0.suffix(1)) }
    }

    @Test("each field and operator selects the customers worked out by hand; inactive customers never")
    func fields() async throws {
        let market = try await Self.fixture()
        #expect(try await Self.members(market, Self.condition(.valueGrade, .atMost, "2")) == ["1", "2"])
        #expect(try await Self.members(market, Self.condition(.valueGrade, .in, "1", "5")) == ["1", "5"])
        // C1 turns 67 today; C2 turns 67 tomorrow; C5 is 27; C3 has no birth date.
        #expect(try await Self.members(market, Self.condition(.age, .atLeast, "67")) == ["1"])
        #expect(try await Self.members(market, Self.condition(.age, .equals, "66")) == ["2"])
        #expect(try await Self.members(market, Self.condition(.age, .greaterThan, "66")) == ["1"])
        #expect(try await Self.members(market, Self.condition(.age, .between, "60", "70")) == ["1", "2"])
        #expect(try await Self.members(market, Self.condition(.age, .lessThan, "30")) == ["5"])
        #expect(try await Self.members(market, Self.condition(.age, .atMost, "66")) == ["2", "5"])
        #expect(try await Self.members(market, Self.condition(.lifecycleStage, .in, "mature", "growing")) == ["1", "2"])
        #expect(try await Self.members(market, Self.condition(.branch, .equals, "BJ-01")) == ["1", "3", "5"])
        #expect(try await Self.members(market, Self.condition(.branch, .notEquals, "BJ-01")) == ["2"])
        #expect(try await Self.members(market, Self.condition(.relationshipManager, .equals, "RM002")) == ["2"])
        #expect(try await Self.members(market, Self.condition(.marketingConsent, .equals, "sms")) == ["1"])
        #expect(try await Self.members(market, Self.condition(.marketingConsent, .in, "sms", "email")) == ["1", "2"])
        #expect(try await Self.members(market, Self.condition(.openComplaint, .equals, "true")) == ["5"])
        #expect(try await Self.members(market, Self.condition(.openComplaint, .equals, "false")) == ["1", "2", "3"])
        #expect(try await Self.members(market, Self.condition(.customerKind, .equals, "corporate")) == ["3"])
        #expect(try await Self.members(market, Self.condition(.assetsMinor, .atLeast, "1000000")) == ["1"])
        #expect(try await Self.members(market, Self.condition(.valueGrade, .atMost, "2"), Self.condition(.branch, .equals, "BJ-01")) == ["1"])
        #expect(try await Self.members(market, Self.condition(.productHeld, .equals, "time_deposit")) == ["1"])
        #expect(try await Self.members(market, Self.condition(.productHeld, .in, "loan", "wealth")) == ["1", "2"])
        #expect(try await Self.members(market, Self.condition(.productHeld, .notEquals, "loan")) == ["1", "3", "5"])

        func tag(_ customer: String, _ tags: [String]) async throws -> [String] {
            var request = Crm_Marketing_V1_SetCustomerTagsRequest()
            (request.customerID, request.tags) = (customer, tags)
            let finished = request
            return try await market.write { pipeline, db in try Segments(pipeline: pipeline).setTags(finished, db) }.tags
        }
        #expect(try await tag("C0000000002", ["seminar-2027", "prefers-branch", "seminar-2027"]) == ["prefers-branch", "seminar-2027"])
        _ = try await tag("C0000000003", ["seminar-2027"])
        #expect(try await Self.members(market, Self.condition(.tag, .equals, "seminar-2027")) == ["2", "3"])
        #expect(try await Self.members(market, Self.condition(.tag, .notEquals, "seminar-2027")) == ["1", "5"])
        _ = try await tag("C0000000003", [])
        #expect(try await Self.members(market, Self.condition(.tag, .in, "seminar-2027", "vip")) == ["2"])
        #expect(try await market.events("tags.changed") == 3)
        let unknown = await #expect(throws: RPCError.self) { _ = try await tag("C0000000099", ["x"]) }
        #expect(unknown?.reason == "CUSTOMER_NOT_FOUND")
    }

    @Test("contribution by product, customer, RM and branch: active customers' open accounts, largest first")
    func contribution() async throws {
        let market = try await Self.fixture()
        func rows(_ grouping: Crm_Marketing_V1_ContributionGrouping) async throws -> (rows: [String], total: Int64) {
            var request = Crm_Marketing_V1_ContributionReportRequest()
            request.groupBy = grouping
            let finished = request
            let report = try await market.write { pipeline, db in try Performance(pipeline: pipeline).contribution(finished, db) }
            return (report.rows.map { "\($0.key) \($0.customers) \($0.accounts) \($0.monthlyContributionMinor) \($0.reportingBalanceMinor)" },
                    report.totalMonthlyContributionMinor)
        }
        // C4's current account (9,999) is left out: C4 is inactive.
        let byProduct = try await rows(.product)
        #expect(byProduct.rows == ["wealth 1 1 3000 500000", "time_deposit 1 1 2000 1000000", "loan 1 1 1500 300000"])
        #expect(byProduct.total == 6_500)
        #expect(try await rows(.customer).rows == ["C0000000001 1 2 5000 1500000", "C0000000002 1 1 1500 300000"])
        #expect(try await rows(.ownerRm).rows == ["RM001 1 2 5000 1500000", "RM002 1 1 1500 300000"])
        #expect(try await rows(.branch).rows == ["BJ-01 1 2 5000 1500000", "SH-02 1 1 1500 300000"])
    }

    @Test("a condition that does not fit its field is refused, each named")
    func invalid() async throws {
        let market = try await Self.fixture()
        var request = Crm_Marketing_V1_CountSegmentRequest()
        request.filter.all = [
            Self.condition(.unspecified, .equals, "1"), Self.condition(.age, .atLeast, "old"), Self.condition(.lifecycleStage, .equals, "sleeping"),
            Self.condition(.marketingConsent, .lessThan, "sms"), Self.condition(.openComplaint, .equals, "maybe"),
            Self.condition(.valueGrade, .between, "1"), Self.condition(.branch, .atLeast, "BJ-01"),
        ]
        let finished = request
        let segments = Segments(pipeline: market.pipeline)
        let error = await #expect(throws: RPCError.self) { _ = try await market.store.pool.read { db in try segments.count(finished, db) } }
        #expect(error?.fieldViolations.map(\.field) == [
            "filter.all[0].field", "filter.all[1].values", "filter.all[2].values", "filter.all[3].op", "filter.all[4].values",
            "filter.all[5].values", "filter.all[6].op",
        ])
        var empty = Crm_Marketing_V1_CountSegmentRequest()
        empty.filter = .init()
        let none = empty
        let noConditions = await #expect(throws: RPCError.self) { _ = try await market.store.pool.read { db in try segments.count(none, db) } }
        #expect(noConditions?.fieldViolations.map(\.field) == ["filter.all"])
    }

    @Test("a saved segment is counted and listed page by page; editing names the version")
    func saved() async throws {
        let market = try await Self.fixture()
        let segments = Segments(pipeline: market.pipeline)
        var save = Crm_Marketing_V1_SaveSegmentRequest()
        save.name = "Everyone graded"
        save.filter.all = [Self.condition(.valueGrade, .atLeast, "0")]
        let request = save
        let segment = try await market.store.pool.write { db in try segments.save(request, db) }.segment
        #expect(segment.id == "S0000000001" && segment.version == 1)
        var count = Crm_Marketing_V1_CountSegmentRequest()
        count.segmentID = segment.id
        let countRequest = count
        let counted = try await market.store.pool.read { db in try segments.count(countRequest, db) }
        #expect(counted.customers == 4 && counted.today == "2027-03-01")

        var page = Crm_Marketing_V1_ListSegmentMembersRequest()
        (page.segmentID, page.pageSize) = (segment.id, 3)
        let first = page
        let one = try await market.store.pool.read { db in try segments.members(first, db) }
        #expect(one.customerIds == ["C0000000001", "C0000000002", "C0000000003"])
        page.pageToken = one.nextPageToken
        let second = page
        let two = try await market.store.pool.read { db in try segments.members(second, db) }
        #expect(two.customerIds == ["C0000000005"] && two.nextPageToken.isEmpty)

        save.id = segment.id
        save.expectedVersion = 7
        let stale = save
        let error = await #expect(throws: RPCError.self) { _ = try await market.store.pool.write { db in try segments.save(stale, db) } }
        #expect(error?.reason == "VERSION_MISMATCH")
    }
}

/// Next-best-offer rules over the same fixture as the segments.
@Suite("Marketing next-best-offer")
struct NextBestOfferTests {
    static func rule(_ id: String, _ product: String, priority: UInt32, _ conditions: Crm_Marketing_V1_SegmentCondition...) -> Crm_Marketing_V1_OfferRule {
        var rule = Crm_Marketing_V1_OfferRule()
        (rule.ruleID, rule.product, rule.priority, rule.description_p) = (id, product, priority, "rule \(id)")
        rule.filter.all = conditions
        return rule
    }

    @Test("per product the highest-priority matching rule, with the conditions it matched; none while a complaint is open")
    func offers() async throws {
        let market = try await SegmentTests.fixture()
        let offers = NextBestOffers(pipeline: market.pipeline)
        var request = Crm_Marketing_V1_SetOfferRulesRequest()
        request.rules = [
            Self.rule("pension-senior", "wealth/pension", priority: 1, SegmentTests.condition(.age, .atLeast, "60"), SegmentTests.condition(.valueGrade, .atMost, "2")),
            Self.rule("pension-any", "wealth/pension", priority: 5, SegmentTests.condition(.valueGrade, .atLeast, "0")),
            Self.rule("card-young", "cards/gold", priority: 2, SegmentTests.condition(.age, .lessThan, "40")),
            Self.rule("loan-corporate", "loans/working-capital", priority: 3, SegmentTests.condition(.customerKind, .equals, "corporate")),
        ]
        let rules = request
        #expect(try await market.store.pool.write { db in try offers.setRules(rules, actor: "test", db) }.rules == 4)
        #expect(try await market.events("offer_rules.set") == 1)

        func offered(_ customer: String) async throws -> Crm_Marketing_V1_NextBestOffersResponse {
            var request = Crm_Marketing_V1_NextBestOffersRequest()
            request.customerID = customer
            let finished = request
            return try await market.store.pool.read { db in try offers.offers(finished, db) }
        }
        // C1: grade 1, aged 67: the senior pension rule (priority 1) wins over the general one.
        let first = try await offered("C0000000001")
        #expect(first.offers.map { "\($0.product) \($0.ruleID)" } == ["wealth/pension pension-senior"])
        #expect(first.offers[0].matched == ["age at_least 60", "value_grade at_most 2"])
        // C3: a corporate customer with no birth date.
        #expect(try await offered("C0000000003").offers.map(\.ruleID) == ["loan-corporate", "pension-any"])
        // C5 is 27 and would get the card and the pension, but has a complaint open.
        let suppressed = try await offered("C0000000005")
        #expect(suppressed.offers.isEmpty && suppressed.suppressed == "open_complaint")
        let unknown = await #expect(throws: RPCError.self) { _ = try await offered("C0000000099") }
        #expect(unknown?.reason == "CUSTOMER_NOT_FOUND")

        var bad = Crm_Marketing_V1_SetOfferRulesRequest()
        bad.rules = [Self.rule("x", "", priority: 1), Self.rule("x", "cards/gold", priority: 1, SegmentTests.condition(.age, .atLeast, "old"))]
        let refused = bad
        let error = await #expect(throws: RPCError.self) { _ = try await market.store.pool.write { db in try offers.setRules(refused, actor: "test", db) } }
        #expect(error?.fieldViolations.map(\.field) == ["rules[0].product", "rules[0].filter.all", "rules[1].ruleId", "rules[1].filter.all[0].values"])
    }
}
