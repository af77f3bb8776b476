internal import Foundation
public import GRDB
internal import ServiceRuntime
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI

/// Next-best-offer: explainable rules, each a product and a segment filter. A customer gets, per
/// product, the highest-priority rule whose every condition holds for them, with the conditions
/// spelled out; nothing while a complaint of theirs is open.
public struct NextBestOffers: Sendable {
    public let pipeline: Pipeline

    public init(pipeline: Pipeline) {
        self.pipeline = pipeline
    }

    public static let maxRules = 200

    /// Versioned in ``SettingsHistory`` under this name.
    static let settingsName = "offer_rules"

    public func setRules(_ request: Crm_Marketing_V1_SetOfferRulesRequest, actor: String, _ db: Database) throws -> Crm_Marketing_V1_SetOfferRulesResponse {
        var violations = FieldViolations()
        if request.rules.count > Self.maxRules { violations.add("rules", "must hold at most \(Self.maxRules)") }
        var seen = Set<String>()
        for (index, rule) in request.rules.enumerated() {
            let id = violations.code(rule.ruleID, "rules[\(index)].ruleId", max: 40, required: true)
            if !id.isEmpty, !seen.insert(id).inserted { violations.add("rules[\(index)].ruleId", "repeats an earlier rule") }
            var product = FieldViolations()
            _ = product.product(rule.product)
            if !product.isEmpty { violations.add("rules[\(index)].product", "must be 1 to 60 characters of letters, digits, -, _ and /") }
            _ = violations.text(rule.description_p, "rules[\(index)].description", max: 200)
            do {
                _ = try SegmentQuery.compile(rule.filter, today: pipeline.today, field: "rules[\(index)].filter")
            } catch let error as RPCError {
                for violation in error.fieldViolations { violations.add(violation.field, violation.description) }
            }
        }
        try violations.throwIfAny()
        var response = Crm_Marketing_V1_SetOfferRulesResponse()
        response.version = try SettingsHistory.replace(
            Self.settingsName, expectedVersion: request.expectedVersion, setBy: actor, atMilliseconds: pipeline.nowMilliseconds, db,
            apply: {
                var rules = Crm_Marketing_V1_SetOfferRulesRequest()
                rules.rules = request.rules
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO offer_rules (id, rules) VALUES (1, ?)").execute(
                    arguments: [Data(try rules.serializedBytes() as [UInt8])])
                try ChangeLog.append(type: "offer_rules.set", entityKey: "offer_rules", payload: rules, atMilliseconds: pipeline.nowMilliseconds, db)
            },
            inForce: { try rulesInForce(db) })
        response.rules = UInt32(request.rules.count)
        return response
    }

    func rulesInForce(_ db: Database) throws -> Crm_Marketing_V1_GetOfferRulesResponse {
        let stored = try Data.fetchOne(db.cachedStatement(sql: "SELECT rules FROM offer_rules WHERE id = 1"))
        var response = Crm_Marketing_V1_GetOfferRulesResponse()
        response.rules = try stored.map { try Crm_Marketing_V1_SetOfferRulesRequest(serializedBytes: [UInt8]($0)).rules } ?? []
        return response
    }

    /// Marketing.GetOfferRules: in force or as an earlier Set left them.
    public func getRules(_ request: Crm_Marketing_V1_GetOfferRulesRequest, _ db: Database) throws -> Crm_Marketing_V1_GetOfferRulesResponse {
        var (response, entry) = try SettingsHistory.read(Self.settingsName, version: request.version, db) { try rulesInForce(db) }
        if let entry { (response.version, response.setAt.milliseconds, response.setBy) = (entry.version, entry.setAtMilliseconds, entry.setBy) }
        return response
    }

    public func offers(_ request: Crm_Marketing_V1_NextBestOffersRequest, _ db: Database) throws -> Crm_Marketing_V1_NextBestOffersResponse {
        var violations = FieldViolations()
        let customerID = violations.code(request.customerID, "customerId", max: 20, required: true)
        try violations.throwIfAny()
        _ = try MarketingMirror.usableCustomer(customerID, thing: "offers", db)
        let rules = try rulesInForce(db).rules
        var response = Crm_Marketing_V1_NextBestOffersResponse()
        var offered = Set<String>()
        for rule in rules.sorted(by: { ($0.priority, $0.ruleID) < ($1.priority, $1.ruleID) }) where !offered.contains(rule.product) {
            let query = try SegmentQuery.compile(rule.filter, today: pipeline.today)
            let matches = try Bool.fetchOne(
                db, sql: "SELECT 1 FROM customer_mirror m WHERE m.customer_id = ? AND \(query.condition)",
                arguments: StatementArguments([customerID] + query.arguments)) ?? false
            guard matches else { continue }
            offered.insert(rule.product)
            var offer = Crm_Marketing_V1_Offer()
            (offer.product, offer.ruleID, offer.description_p) = (rule.product, rule.ruleID, rule.description_p)
            offer.matched = rule.filter.all.map(Self.explain)
            response.offers.append(offer)
        }
        if !response.offers.isEmpty, try MarketingMirror.hasOpenComplaint(customerID, db) {
            response.offers = []
            response.suppressed = "open_complaint"
        }
        return response
    }

    /// A condition in words: "value_grade at_most 2", "branch in BJ-01, SH-02".
    static func explain(_ condition: Crm_Marketing_V1_SegmentCondition) -> String {
        "\(snakeCase("\(condition.field)")) \(snakeCase("\(condition.op)")) \(condition.values.joined(separator: ", "))"
    }

    /// "atMost" -> "at_most": a generated enum case in the proto's spelling, lower-cased.
    static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase, !result.isEmpty { result += "_" }
            result += character.lowercased()
        }
        return result
    }
}
