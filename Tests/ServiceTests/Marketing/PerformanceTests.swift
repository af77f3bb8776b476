import Foundation
import GRDB
import MarketingService
import ServiceRuntime
import SwiftProtobuf
import Testing
import TestSupport
import WireProtocol
internal import CRMAPI

/// RM targets rolled up through three levels of the organisation (branch -> region -> head office),
/// with every figure worked out by hand. The organisation arrives as the customer feed's events.
@Suite("Marketing performance against targets")
struct PerformanceTests {
    typealias Market = PipelineTests.Market

    static func unit(_ market: Market, _ id: String, _ kind: Crm_Customer_V1_OrgUnitKind, _ name: String, parent: String = "") async throws {
        var unit = Crm_Customer_V1_OrgUnit()
        (unit.unitID, unit.kind, unit.name, unit.parentID) = (id, kind, name, parent)
        var event = Crm_Feed_V1_ChangeEvent()
        (event.type, event.entityKey, event.payload) = ("org.unit.changed", "unit:\(id)", try unit.serializedBytes())
        let finished = event
        try await market.write { pipeline, db in try MarketingMirror(pipeline: pipeline).applyCustomer(finished, db) }
    }

    static func manager(_ market: Market, _ id: String, unit: String) async throws {
        var manager = Crm_Customer_V1_RelationshipManager()
        (manager.relationshipManagerID, manager.name, manager.unitID) = (id, "Manager \(id)", unit)
        var event = Crm_Feed_V1_ChangeEvent()
        (event.type, event.entityKey, event.payload) = ("org.manager.changed", "manager:\(id)", try manager.serializedBytes())
        let finished = event
        try await market.write { pipeline, db in try MarketingMirror(pipeline: pipeline).applyCustomer(finished, db) }
    }

    static func won(_ market: Market, _ owner: String, _ amount: Int64, currency: String = "CNY") async throws {
        let opportunity = try await market.create(amount: amount, currency: currency, owner: owner) { $0.stage = .negotiation }
        _ = try await market.move(opportunity, .won)
    }

    @Test("targets and won amounts roll up RM -> branch -> region -> head office; other months, currencies and lost ones do not count")
    func rollUp() async throws {
        let market = try Market()
        try await market.customer("C0000000001")
        try await Self.unit(market, "HO", .headOffice, "Head office")
        try await Self.unit(market, "R1", .region, "North region", parent: "HO")
        try await Self.unit(market, "B1", .branch, "Beijing", parent: "R1")
        try await Self.unit(market, "B2", .branch, "Tianjin", parent: "R1")
        for (manager, unit) in [("RM001", "B1"), ("RM002", "B1"), ("RM003", "B2"), ("RM009", "R1")] { try await Self.manager(market, manager, unit: unit) }

        var targets = Crm_Marketing_V1_SetTargetsRequest()
        targets.targets = [("RM001", Int64(1_000_000)), ("RM002", 500_000), ("RM003", 2_000_000)].map { manager, amount in
            var target = Crm_Marketing_V1_RmTarget()
            (target.relationshipManagerID, target.period, target.targetMinor) = (manager, "2027-03", amount)
            return target
        }
        let finishedTargets = targets
        _ = try await market.write { pipeline, db in try Performance(pipeline: pipeline).setTargets(finishedTargets, db) }
        #expect(try await market.events("targets.set") == 1)

        market.at(2027, 2, 20)
        try await Self.won(market, "RM001", 700_000)  // February: not March's
        market.at(2027, 3, 10)
        try await Self.won(market, "RM001", 600_000)
        try await Self.won(market, "RM001", 300_000)
        try await Self.won(market, "RM002", 500_000)
        try await Self.won(market, "RM003", 250_000)
        try await Self.won(market, "RM003", 100_000, currency: "USD")  // not CNY
        try await Self.won(market, "RM009", 100_000)
        let lost = try await market.create(amount: 900_000, owner: "RM002")
        _ = try await market.move(lost, .lost, reason: "rate too low")
        market.at(2027, 4, 1)
        try await Self.won(market, "RM002", 800_000)  // April

        var request = Crm_Marketing_V1_PerformanceReportRequest()
        (request.unitID, request.period) = ("HO", "2027-03")
        let finished = request
        let rows = try await market.write { pipeline, db in try Performance(pipeline: pipeline).report(finished, db) }.rows
        #expect(rows.map { "\($0.depth) \($0.level) \($0.id) \($0.targetMinor) \($0.achievedMinor) \($0.achievementBasisPoints) \($0.wonOpportunities)" } == [
            // 3,500,000 target; 900,000 + 500,000 + 250,000 + 100,000 = 1,750,000 won: 50.00%.
            "0 head_office HO 3500000 1750000 5000 5",
            "1 region R1 3500000 1750000 5000 5",
            "2 rm RM009 0 100000 0 1",
            // 1,400,000 of 1,500,000 = 93.33%.
            "2 branch B1 1500000 1400000 9333 3",
            "3 rm RM001 1000000 900000 9000 2",
            "3 rm RM002 500000 500000 10000 1",
            "2 branch B2 2000000 250000 1250 1",
            "3 rm RM003 2000000 250000 1250 1",
        ])

        request.unitID = "B9"
        let unknown = request
        let error = await #expect(throws: RPCError.self) { _ = try await market.write { pipeline, db in try Performance(pipeline: pipeline).report(unknown, db) } }
        #expect(error?.reason == "UNIT_NOT_FOUND")
        request.period = "2027-13"
        let badPeriod = request
        let invalid = await #expect(throws: RPCError.self) { _ = try await market.write { pipeline, db in try Performance(pipeline: pipeline).report(badPeriod, db) } }
        #expect(invalid?.fieldViolations.map(\.field) == ["period"])
    }
}
