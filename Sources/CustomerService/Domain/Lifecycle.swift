internal import Foundation
internal import GRDB
internal import ServiceRuntime
internal import SwiftProtobuf
internal import WireProtocol
internal import CRMAPI

/// A customer's lifecycle stage and the reason for it, from what they hold, how that moved within
/// the trend window, and when they last did something; by explicit rules a bank sets
/// (Customer.SetLifecycleRules), each stage's reason in words.
struct Lifecycle {
    /// Versioned in ``SettingsHistory`` under this name; the rules in force are its latest version.
    static let settingsName = "lifecycle_rules"

    /// `rules` with every zero replaced by its default.
    static func withDefaults(_ rules: Crm_Customer_V1_LifecycleRules) -> Crm_Customer_V1_LifecycleRules {
        var rules = rules
        if rules.dormantAfterDays == 0 { rules.dormantAfterDays = 180 }
        if rules.newForDays == 0 { rules.newForDays = 90 }
        if rules.matureAfterYears == 0 { rules.matureAfterYears = 3 }
        if rules.matureProductTypes == 0 { rules.matureProductTypes = 3 }
        if rules.churnRiskWindowDays == 0 { rules.churnRiskWindowDays = 90 }
        if rules.churnRiskAssetDropPercent == 0 { rules.churnRiskAssetDropPercent = 50 }
        if rules.churnRiskContributionDropPercent == 0 { rules.churnRiskContributionDropPercent = 50 }
        return rules
    }

    static func check(_ rules: Crm_Customer_V1_LifecycleRules) throws {
        var problems = FieldViolations()
        let bounds: [(String, UInt32, ClosedRange<UInt32>)] = [
            ("dormantAfterDays", rules.dormantAfterDays, 1...3650), ("newForDays", rules.newForDays, 1...3650),
            ("matureAfterYears", rules.matureAfterYears, 1...50), ("matureProductTypes", rules.matureProductTypes, 1...7),
            ("churnRiskWindowDays", rules.churnRiskWindowDays, 7...365),
            ("churnRiskAssetDropPercent", rules.churnRiskAssetDropPercent, 1...100),
            ("churnRiskContributionDropPercent", rules.churnRiskContributionDropPercent, 1...100),
        ]
        for (field, value, range) in bounds where value != 0 && !range.contains(value) {
            problems.add("rules.\(field)", "must be \(range.lowerBound) to \(range.upperBound) (0: the default)")
        }
        try problems.throwIfAny()
    }

    /// The rules in force: the latest Set, else the defaults.
    static func rules(_ db: Database) throws -> Crm_Customer_V1_LifecycleRules {
        guard let entry = try SettingsHistory.entry(settingsName, version: 0, db) else { return withDefaults(.init()) }
        return try Crm_Customer_V1_LifecycleRules(serializedBytes: [UInt8](entry.settings))
    }

    /// The highest assets and monthly contribution a customer held on each day: what the trend
    /// window compares today's with. Kept for the longest window a rule allows.
    static func recordHighs(customerKey: Int64, day: String, assetsMinor: Int64, contributionMinor: Int64, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO customer_value_high (customer_key, day, assets_minor, contribution_minor) VALUES (?, ?, ?, ?)
                ON CONFLICT (customer_key, day) DO UPDATE SET
                    assets_minor = max(assets_minor, excluded.assets_minor),
                    contribution_minor = max(contribution_minor, excluded.contribution_minor)
                """
        ).execute(arguments: [customerKey, day, assetsMinor, contributionMinor])
    }

    static func pruneHighs(customerKey: Int64, before day: String, _ db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM customer_value_high WHERE customer_key = ? AND day < ?").execute(arguments: [customerKey, day])
    }

    /// The highest assets and contribution on a day from `since` on.
    static func highs(customerKey: Int64, since: String, _ db: Database) throws -> (assets: Int64, contribution: Int64) {
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql: "SELECT max(assets_minor), max(contribution_minor) FROM customer_value_high WHERE customer_key = ? AND day >= ?"),
            arguments: [customerKey, since])
        return (row?[0] ?? 0, row?[1] ?? 0)
    }

    struct Judgement: Equatable {
        var stage: Crm_Customer_V1_LifecycleStage
        var reason: String
    }

    var rules: Crm_Customer_V1_LifecycleRules
    var now: Date

    func day(daysAgo days: Double) -> String { CalendarDate.today(now: now.addingTimeInterval(-days * 86_400)).description }

    /// The stage the rules give, first rule first, with the reason in words.
    func judge(_ facts: Grading.Facts, highs: (assets: Int64, contribution: Int64)) -> Judgement {
        guard facts.everHeld else { return Judgement(stage: .prospect, reason: "never held an account") }
        guard facts.openAccounts > 0 else { return Judgement(stage: .churned, reason: "no open account") }
        let nowMs = Int64(now.timeIntervalSince1970 * 1000)
        let dormantDays = Int64(rules.dormantAfterDays)
        if facts.lastActivityMs < nowMs - dormantDays * 86_400_000 {
            let last = CalendarDate.today(now: Date(timeIntervalSince1970: Double(facts.lastActivityMs) / 1000)).description
            return Judgement(stage: .dormant, reason: "no account change or contact in \(dormantDays) days (last \(last))")
        }
        let window = rules.churnRiskWindowDays
        if let fall = Self.fall(from: highs.assets, to: facts.assetsMinor), fall >= rules.churnRiskAssetDropPercent {
            return Judgement(
                stage: .churnRisk,
                reason: "assets fell \(fall)% within \(window) days (from \(Self.yuan(highs.assets)) to \(Self.yuan(facts.assetsMinor)) CNY)")
        }
        if let fall = Self.fall(from: highs.contribution, to: facts.monthlyContributionMinor), fall >= rules.churnRiskContributionDropPercent {
            return Judgement(
                stage: .churnRisk,
                reason: "monthly contribution fell \(fall)% within \(window) days (from \(Self.yuan(highs.contribution)) to "
                    + "\(Self.yuan(facts.monthlyContributionMinor)) CNY)")
        }
        if facts.firstOpened >= day(daysAgo: Double(rules.newForDays)) {
            return Judgement(stage: .new, reason: "first account opened \(facts.firstOpened), within \(rules.newForDays) days")
        }
        let years = rules.matureAfterYears
        let since = "a customer since \(facts.firstOpened)"
        if facts.firstOpened <= day(daysAgo: Double(years) * 365.25) && facts.openProductTypes >= Int(rules.matureProductTypes) {
            return Judgement(stage: .mature, reason: "\(since) (\(years) years or more) with \(facts.openProductTypes) product types open")
        }
        return Judgement(
            stage: .growing,
            reason: "\(since) with \(facts.openProductTypes) product types open (mature: \(years) years and \(rules.matureProductTypes) types)")
    }

    /// The percentage by which `now` is below `high` (0 to 100), nil when there was nothing to fall from.
    static func fall(from high: Int64, to now: Int64) -> UInt32? {
        guard high > 0, now < high else { return nil }
        return UInt32(((Double(high - max(now, 0)) / Double(high)) * 100).rounded(.down))
    }

    /// Fen as yuan with two decimals.
    static func yuan(_ minor: Int64) -> String {
        let sign = minor < 0 ? "-" : ""
        let magnitude = minor.magnitude
        return "\(sign)\(magnitude / 100).\(String(format: "%02d", Int(magnitude % 100)))"
    }
}
