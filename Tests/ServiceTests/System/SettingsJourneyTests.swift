import Foundation
import ServiceRuntime
import SwiftProtobuf
import TestSupport
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

extension JourneyTests {
    @Test("shared settings are versioned: each Get reads back what is in force and any earlier version; a Set naming a stale version is ABORTED and wipes nothing; every version is kept with who set it")
    func sharedSettingsAreVersioned() async throws {
        let system = try await CRMSystem.start()
        let client = system.client()
        let end = Metadata(endUser: "analyst-7")

        // Customer.SetValueGradeRules / GetValueGradeRules
        let gradesBefore = try await client.unary(CustomerMethods.getValueGradeRules, .init())
        #expect(gradesBefore.version == 0 && gradesBefore.rules.count == 4, "the built-in rules at version 0")
        let first: Crm_Customer_V1_SetValueGradeRulesRequest = try Self.json(#"{"rules": [{"grade": 1, "minAssetsMinor": "400"}, {"grade": 2, "minAssetsMinor": "300"}, {"grade": 3, "minAssetsMinor": "200"}, {"grade": 4, "minAssetsMinor": "100"}]}"#)
        #expect(try await client.unary(CustomerMethods.setValueGradeRules, first, metadata: end).version == 1)
        var second = first
        second.rules[0].minAssetsMinor = 999
        try await Self.expectStale(current: 1) { _ = try await client.unary(CustomerMethods.setValueGradeRules, second) }
        second.expectedVersion = 1
        #expect(try await client.unary(CustomerMethods.setValueGradeRules, second).version == 2)
        let grades = try await client.unary(CustomerMethods.getValueGradeRules, .init())
        #expect(grades.version == 2 && grades.rules.first?.minAssetsMinor == 999 && grades.setBy == "call-centre" && grades.setAt.milliseconds > 0)
        let gradesV1 = try await client.unary(CustomerMethods.getValueGradeRules, try Self.json(#"{"version": "1"}"#))
        #expect(gradesV1.version == 1 && gradesV1.rules.first?.minAssetsMinor == 400 && gradesV1.setBy == "call-centre/analyst-7")
        let unknown = await #expect(throws: RPCError.self) {
            _ = try await client.unary(CustomerMethods.getValueGradeRules, try Self.json(#"{"version": "3"}"#))
        }
        #expect(unknown?.code == .notFound && unknown?.reason == "UNKNOWN_VERSION")

        // ServiceDesk.SetSlaPolicies / GetSlaPolicies
        let sla: Crm_Servicedesk_V1_SetSlaPoliciesRequest = try Self.json(#"{"policies": [{"kind": "CASE_KIND_COMPLAINT", "priority": "CASE_PRIORITY_HIGH", "firstResponseMinutes": 60, "resolutionMinutes": 480, "warningPercent": 75}]}"#)
        #expect(try await client.unary(ServiceDeskMethods.getSlaPolicies, .init()).version == 0)
        #expect(try await client.unary(ServiceDeskMethods.setSlaPolicies, sla).version == 1)
        var otherSla = sla
        otherSla.policies[0].resolutionMinutes = 960
        try await Self.expectStale(current: 1) { _ = try await client.unary(ServiceDeskMethods.setSlaPolicies, otherSla) }
        let policies = try await client.unary(ServiceDeskMethods.getSlaPolicies, .init())
        #expect(policies.version == 1 && policies.policies == sla.policies, "the stale Set changed nothing")
        otherSla.expectedVersion = 1
        #expect(try await client.unary(ServiceDeskMethods.setSlaPolicies, otherSla).version == 2)
        #expect(try await client.unary(ServiceDeskMethods.getSlaPolicies, try Self.json(#"{"version": "1"}"#)).policies == sla.policies)
        #expect(try await client.unary(ServiceDeskMethods.getSlaPolicies, .init()).policies.first?.resolutionMinutes == 960)

        // ServiceDesk.SetCategories / ListCategories
        let tree: Crm_Servicedesk_V1_SetCategoriesRequest = try Self.json(#"{"categories": [{"path": "cards", "name": "信用卡"}]}"#)
        #expect(try await client.unary(ServiceDeskMethods.setCategories, tree).version == 1)
        try await Self.expectStale(current: 1) { _ = try await client.unary(ServiceDeskMethods.setCategories, tree) }
        var grown = tree
        grown.expectedVersion = 1
        grown.categories.append(try Self.json(#"{"path": "cards/fees", "name": "年费"}"#))
        #expect(try await client.unary(ServiceDeskMethods.setCategories, grown).version == 2)
        #expect(try await client.unary(ServiceDeskMethods.listCategories, .init()).categories.map(\.path) == ["cards", "cards/fees"])
        #expect(try await client.unary(ServiceDeskMethods.listCategories, try Self.json(#"{"version": "1"}"#)).categories.map(\.path) == ["cards"])

        // Marketing.SetOfferRules / GetOfferRules
        let offers: Crm_Marketing_V1_SetOfferRulesRequest = try Self.json(#"{"rules": [{"ruleId": "R1", "product": "pension-fund", "priority": 1, "filter": {"all": [{"field": "SEGMENT_FIELD_VALUE_GRADE", "op": "SEGMENT_OPERATOR_AT_MOST", "values": ["2"]}]}}]}"#)
        #expect(try await client.unary(MarketingMethods.setOfferRules, offers).version == 1)
        try await Self.expectStale(current: 1) { _ = try await client.unary(MarketingMethods.setOfferRules, Crm_Marketing_V1_SetOfferRulesRequest()) }
        let offerRules = try await client.unary(MarketingMethods.getOfferRules, .init())
        #expect(offerRules.version == 1 && offerRules.rules.map(\.ruleID) == ["R1"], "a second caller's empty Set did not wipe the rules")

        // Marketing.SetEventRules / GetEventRules
        #expect(try await client.unary(MarketingMethods.getEventRules, .init()).balanceDropPercent == 30, "the defaults at version 0")
        let events: Crm_Marketing_V1_SetEventRulesRequest = try Self.json(#"{"birthdayDaysAhead": 3, "balanceDropPercent": 40}"#)
        #expect(try await client.unary(MarketingMethods.setEventRules, events).version == 1)
        try await Self.expectStale(current: 1) { _ = try await client.unary(MarketingMethods.setEventRules, events) }
        let eventRules = try await client.unary(MarketingMethods.getEventRules, .init())
        #expect(eventRules.version == 1 && eventRules.balanceDropPercent == 40 && eventRules.birthdayDaysAhead == 3 && eventRules.balanceWindowDays == 30)

        await client.close()
        await system.shutdown()
    }

    static func expectStale(current: Int64, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async throws {
        let error = await #expect(throws: RPCError.self, sourceLocation: sourceLocation) { try await body() }
        #expect(error?.code == .aborted && error?.reason == "STALE_VERSION", sourceLocation: sourceLocation)
        #expect(error?.details["current_version"] == String(current), sourceLocation: sourceLocation)
    }
}
