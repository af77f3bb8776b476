import Foundation
import GRDB
import Logging
import MarketingService
import ServiceRuntime
import SwiftProtobuf
import Testing
import TestSupport
import WireProtocol
internal import CRMAPI

/// The sales pipeline against a real SQLite file, with an injected clock; customers and cases arrive
/// as the feed consumers would apply them.
@Suite("Marketing pipeline")
struct PipelineTests {
    final class Market: Sendable {
        let folder: URL
        let store: Store
        let clock = Recorder(Date(timeIntervalSince1970: 1_795_395_600))  // Monday 23 November 2026, 09:00 Shanghai

        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("marketing-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            store = try Self.open(folder)
        }

        /// The database in `folder`, opened as a (re)started process opens it.
        static func open(_ folder: URL) throws -> Store {
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            return try Store(
                configuration: .init(path: folder.appendingPathComponent("marketing.sqlite").path), migrator: MarketingSchema.migrator, logger: logger)
        }

        /// 10:00 in Shanghai on the day.
        func at(_ year: Int, _ month: Int, _ day: Int) {
            let days = LocalDate(year: year, month: month, day: day).daysSinceEpoch
            clock.update { $0 = Date(timeIntervalSince1970: Double(days * 86_400 + 2 * 3_600)) }
        }

        deinit { try? FileManager.default.removeItem(at: folder) }

        var pipeline: Pipeline {
            let clock = self.clock
            return Pipeline(now: { clock.value })
        }

        func write<T: Sendable>(_ body: @escaping @Sendable (Pipeline, Database) throws -> T) async throws -> T {
            let pipeline = self.pipeline
            return try await store.pool.write { db in try body(pipeline, db) }
        }

        func customer(
            _ id: String, type: String = "customer.created", status: Crm_Customer_V1_CustomerStatus = .active, branch: String = "BJ-01",
            mergedInto: String = "", _ configure: @Sendable (inout Crm_Customer_V1_CustomerChanged) -> Void = { _ in }
        ) async throws {
            var customer = Crm_Customer_V1_CustomerChanged()
            (customer.id, customer.status, customer.branchID, customer.mergedIntoID, customer.relationshipManagerID) = (id, status, branch, mergedInto, "RM001")
            configure(&customer)
            var event = Crm_Feed_V1_ChangeEvent()
            (event.type, event.entityKey, event.payload) = (type, id, try customer.serializedBytes())
            event.at.milliseconds = Int64(clock.value.timeIntervalSince1970 * 1000)
            let finished = event
            try await write { pipeline, db in try MarketingMirror(pipeline: pipeline).applyCustomer(finished, db) }
        }

        func create(
            customer: String = "C0000000001", amount: Int64 = 1_000_000, currency: String = "CNY", owner: String = "RM001",
            _ configure: @Sendable (inout Crm_Marketing_V1_CreateOpportunityRequest) -> Void = { _ in }
        ) async throws -> Crm_Marketing_V1_Opportunity {
            var request = Crm_Marketing_V1_CreateOpportunityRequest()
            (request.customerID, request.product, request.amountMinor, request.currency) = (customer, "wealth/fund-a", amount, currency)
            (request.ownerRmID, request.expectedCloseDate) = (owner, "2026-12-31")
            configure(&request)
            let finished = request
            return try await write { pipeline, db in try pipeline.create(finished, actor: "crm-ops/rm-001", db) }.opportunity
        }

        func move(_ opportunity: Crm_Marketing_V1_Opportunity, _ stage: Crm_Marketing_V1_OpportunityStage, reason: String = "") async throws
            -> Crm_Marketing_V1_Opportunity
        {
            var request = Crm_Marketing_V1_MoveOpportunityRequest()
            (request.id, request.expectedVersion, request.stage, request.reason) = (opportunity.id, opportunity.version, stage, reason)
            let finished = request
            return try await write { pipeline, db in try pipeline.move(finished, actor: "crm-ops/rm-001", db) }.opportunity
        }

        func report(_ grouping: Crm_Marketing_V1_PipelineGrouping, closedFrom: Int64 = 0) async throws -> [String] {
            var request = Crm_Marketing_V1_PipelineReportRequest()
            (request.groupBy, request.closedFrom.milliseconds) = (grouping, closedFrom)
            let finished = request
            return try await write { pipeline, db in try pipeline.report(finished, db) }.rows.map {
                "\($0.key) \($0.currency) \($0.opportunities) \($0.amountMinor) \($0.weightedAmountMinor)"
            }
        }

        func events(_ type: String) async throws -> Int {
            try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM change_log WHERE type = ?", arguments: [type]) ?? 0 }
        }
    }

    @Test("every stage and target: the allowed moves are recorded with their probability, the others refused naming the allowed")
    func stages() async throws {
        // The table itself, every pair.
        for from in OpportunityStage.allCases {
            for to in OpportunityStage.allCases {
                let allowed: Bool =
                    switch (from, to) {
                    case (.lead, .qualified), (.qualified, .proposal), (.proposal, .negotiation), (.proposal, .won), (.negotiation, .won): true
                    case (_, .lost): from.isOpen
                    default: false
                    }
                #expect(from.next.contains(to) == allowed, "\(from.name) -> \(to.name)")
            }
        }
        let market = try Market()
        try await market.customer("C0000000001")
        var opportunity = try await market.create()
        #expect(opportunity.id == "O0000000001" && opportunity.stage == .lead && opportunity.probabilityPercent == 10)
        let skip = await #expect(throws: RPCError.self) { _ = try await market.move(opportunity, .won) }
        #expect(skip?.reason == "INVALID_TRANSITION")
        #expect(skip?.details["allowed"] == "qualified,lost")
        let noReason = await #expect(throws: RPCError.self) { _ = try await market.move(opportunity, .lost) }
        #expect(noReason?.fieldViolations.map(\.field) == ["reason"])
        for stage in [Crm_Marketing_V1_OpportunityStage.qualified, .proposal, .negotiation, .won] {
            opportunity = try await market.move(opportunity, stage)
        }
        #expect(opportunity.stage == .won && opportunity.probabilityPercent == 100 && opportunity.weightedAmountMinor == 1_000_000)
        let final = await #expect(throws: RPCError.self) { _ = try await market.move(opportunity, .lost, reason: "changed mind") }
        #expect(final?.details["allowed"] == "")
        let stale = await #expect(throws: RPCError.self) {
            var old = opportunity
            old.version -= 1
            _ = try await market.move(old, .lost, reason: "x")
        }
        #expect(stale?.reason == "VERSION_MISMATCH")
        let history = try await market.write { pipeline, db in
            var request = Crm_Marketing_V1_GetOpportunityRequest()
            request.id = "O0000000001"
            return try pipeline.get(request, db).history
        }
        #expect(history.map(\.to) == [.lead, .qualified, .proposal, .negotiation, .won])
        #expect(history.map(\.probabilityPercent) == [10, 25, 50, 75, 100])
        #expect(history.allSatisfy { $0.actor == "crm-ops/rm-001" })
        #expect(try await market.events("opportunity.created") == 1)
        #expect(try await market.events("opportunity.moved") == 4)
    }

    @Test("weighted pipeline: by stage, RM and branch, per currency, each weighted amount rounded half up; new probabilities re-weight open ones")
    func weightedPipeline() async throws {
        let market = try Market()
        try await market.customer("C0000000001")
        try await market.customer("C0000000002", branch: "SH-02")
        // 1,000,000 at lead (10%) = 100,000; 333,333 at qualified (25%) = 83,333.25 -> 83,333;
        // 250,001 at proposal (50%) = 125,000.5 -> 125,001; 800,000 USD at negotiation (75%) = 600,000;
        // 500,000 won (100%); 700,000 lost (0%).
        _ = try await market.create()
        var qualified = try await market.create(amount: 333_333, owner: "RM002")
        qualified = try await market.move(qualified, .qualified)
        var proposal = try await market.create(customer: "C0000000002", amount: 250_001)
        proposal = try await market.move(try await market.move(proposal, .qualified), .proposal)
        let negotiation = try await market.create(customer: "C0000000002", amount: 800_000, currency: "USD") { $0.stage = .negotiation }
        #expect(negotiation.weightedAmountMinor == 600_000)
        market.clock.update { $0 = $0.addingTimeInterval(3_600) }
        let closedFrom = Int64(market.clock.value.timeIntervalSince1970 * 1000)
        var won = try await market.create(amount: 500_000) { $0.stage = .negotiation }
        won = try await market.move(won, .won)
        var lost = try await market.create(amount: 700_000) { $0.stage = .proposal }
        lost = try await market.move(lost, .lost, reason: "went to another bank")
        #expect(lost.lostReason == "went to another bank")

        #expect(try await market.report(.stage) == [
            "lead CNY 1 1000000 100000", "qualified CNY 1 333333 83333", "proposal CNY 1 250001 125001", "negotiation USD 1 800000 600000",
        ])
        #expect(try await market.report(.stage, closedFrom: closedFrom) == [
            "lead CNY 1 1000000 100000", "qualified CNY 1 333333 83333", "proposal CNY 1 250001 125001", "negotiation USD 1 800000 600000",
            "won CNY 1 500000 500000", "lost CNY 1 700000 0",
        ])
        #expect(try await market.report(.ownerRm) == ["RM001 CNY 2 1250001 225001", "RM001 USD 1 800000 600000", "RM002 CNY 1 333333 83333"])
        #expect(try await market.report(.branch) == ["BJ-01 CNY 2 1333333 183333", "SH-02 CNY 1 250001 125001", "SH-02 USD 1 800000 600000"])

        var probabilities = Crm_Marketing_V1_SetStageProbabilitiesRequest()
        var lead = Crm_Marketing_V1_StageProbability()
        (lead.stage, lead.percent) = (.lead, 20)
        probabilities.probabilities = [lead]
        let finished = probabilities
        _ = try await market.write { pipeline, db in try pipeline.setProbabilities(finished, db) }
        #expect(try await market.report(.stage).first == "lead CNY 1 1000000 200000")
        #expect(try await market.events("opportunity.reweighted") == 1)
        #expect(try await market.events("stage_probabilities.set") == 1)
        var bad = probabilities
        lead.stage = .won
        bad.probabilities = [lead]
        let refused = bad
        let error = await #expect(throws: RPCError.self) { _ = try await market.write { pipeline, db in try pipeline.setProbabilities(refused, db) } }
        #expect(error?.fieldViolations.map(\.field) == ["probabilities[0].stage"])
    }

    @Test("an opportunity needs a mirrored customer; a merge moves its opportunities to the survivor and an unmerge moves exactly those back")
    func customers() async throws {
        let market = try Market()
        let unknown = await #expect(throws: RPCError.self) { _ = try await market.create() }
        #expect(unknown?.reason == "CUSTOMER_NOT_FOUND")
        try await market.customer("C0000000001")
        try await market.customer("C0000000002")
        let invalid = await #expect(throws: RPCError.self) {
            _ = try await market.create(amount: 0, currency: "yuan", owner: "RM001") {
                ($0.expectedCloseDate, $0.referredByRmID, $0.product) = ("2026-02-30", "RM001", "")
            }
        }
        #expect(invalid?.fieldViolations.map(\.field) == ["product", "amountMinor", "currency", "referredByRmId", "expectedCloseDate"])
        let first = try await market.create(customer: "C0000000001") { $0.referredByRmID = "RM009" }
        #expect(first.branchID == "BJ-01" && first.referredByRmID == "RM009")
        try await market.customer("C0000000001", type: "customer.merged", status: .merged, mergedInto: "C0000000002")
        let merged = await #expect(throws: RPCError.self) { _ = try await market.create(customer: "C0000000001") }
        #expect(merged?.reason == "CUSTOMER_MERGED")
        #expect(merged?.details["merged_into_id"] == "C0000000002")
        let afterMerge = try await market.create(customer: "C0000000002")
        func owners() async throws -> [String] {
            try await market.write { pipeline, db in
                var request = Crm_Marketing_V1_ListOpportunitiesRequest()
                request.ownerRmID = "RM001"
                return try pipeline.list(request, db).opportunities.map(\.customerID)
            }
        }
        #expect(try await owners() == ["C0000000002", "C0000000002"])
        try await market.customer("C0000000001", type: "customer.unmerged")
        #expect(try await owners() == ["C0000000001", "C0000000002"], "only the moved one goes back; \(afterMerge.id) stays")
        #expect(try await market.events("opportunity.rekeyed") == 2)
        let versions = try await feedVersions(market.store, as: Crm_Marketing_V1_OpportunityChanged.self) { $0.opportunity.version }
        #expect(versions[first.id]?.count == 3, "created, moved by the merge, moved back by the unmerge")
        expectIncreasing(versions)
        try await market.customer("C0000000002", type: "customer.erased", status: .erased)
        let erased = await #expect(throws: RPCError.self) { _ = try await market.create(customer: "C0000000002") }
        #expect(erased?.reason == "CUSTOMER_ERASED")
    }
}
