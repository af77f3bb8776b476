internal import ArgumentParser
internal import Foundation
internal import GRDB
internal import Logging
internal import MarketingService
internal import ServiceRuntime
internal import SwiftProtobuf
internal import WireProtocol
internal import CRMAPI

/// `crm-bench segment`: Marketing segments over N mirrored customers. Loads the mirror through
/// `MarketingMirror.applyCustomer` (as the customer feed would, 5,000 per transaction; kept between
/// runs unless --reload), then counts a set of segments, each the best of three, on a reader.
struct SegmentBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "segment", abstract: "Count segments over N mirrored customers.")

    @Option(help: "How many customers.")
    var count = 1_000_000

    @Option(help: "The database file (loaded once, reused by later runs).")
    var database = "var/bench/marketing-1m.sqlite"

    @Flag(help: "Remove the file and load it again.")
    var reload = false

    func run() async throws {
        if reload { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) } }
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: database).deletingLastPathComponent(), withIntermediateDirectories: true)
        var logger = Logger(label: "crm-bench")
        logger.logLevel = .warning
        let store = try Store(configuration: .init(path: database, cacheMiB: 256), migrator: MarketingSchema.migrator, logger: logger)
        // Monday 1 March 2027, 10:00 in Shanghai.
        let now = Date(timeIntervalSince1970: 1_803_866_400)
        let pipeline = Pipeline(now: { now })
        let mirror = MarketingMirror(pipeline: pipeline)
        var lines: [String] = []

        let loaded = try await store.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM customer_mirror") ?? 0 }
        if loaded < count {
            let started = Date()
            for first in stride(from: loaded, to: count, by: 5_000) {
                try await store.pool.write { db in
                    for index in first..<min(count, first + 5_000) { try mirror.applyCustomer(try Self.event(index), db) }
                }
            }
            lines.append(String(format: "loaded %d mirrored customers in %.1f s (%.0f/s)", count - loaded, Date().timeIntervalSince(started),
                                Double(count - loaded) / Date().timeIntervalSince(started)))
        }

        let segments = Segments(pipeline: pipeline)
        lines.append("| segment | customers | best of 3, ms |")
        lines.append("|---|---:|---:|")
        for (name, conditions) in Self.segments {
            var request = Crm_Marketing_V1_CountSegmentRequest()
            request.filter.all = conditions
            let finished = request
            var best = Double.infinity
            var customers: UInt64 = 0
            for _ in 0..<3 {
                let started = Date()
                customers = try await store.read { db in try segments.count(finished, db) }.customers
                best = min(best, Date().timeIntervalSince(started))
            }
            lines.append(String(format: "| %@ | %llu | %.0f |", name, customers, best * 1000))
        }
        print(lines.joined(separator: "\n"))
    }

    static func condition(_ field: Crm_Marketing_V1_SegmentField, _ op: Crm_Marketing_V1_SegmentOperator, _ values: [String])
        -> Crm_Marketing_V1_SegmentCondition
    {
        var condition = Crm_Marketing_V1_SegmentCondition()
        (condition.field, condition.op, condition.values) = (field, op, values)
        return condition
    }

    static let segments: [(String, [Crm_Marketing_V1_SegmentCondition])] = [
        ("grade 1 (indexed)", [condition(.valueGrade, .equals, ["1"])]),
        ("grade <= 2, aged 60+, SMS consent", [
            condition(.valueGrade, .atMost, ["2"]), condition(.age, .atLeast, ["60"]), condition(.marketingConsent, .equals, ["sms"]),
        ]),
        ("one branch (indexed), mature or growing, assets >= 1,000,000", [
            condition(.branch, .equals, ["BR-007"]), condition(.lifecycleStage, .in, ["mature", "growing"]), condition(.assetsMinor, .atLeast, ["100000000"]),
        ]),
        ("no open complaint, email or SMS consent, aged 30-50", [
            condition(.openComplaint, .equals, ["false"]), condition(.marketingConsent, .in, ["email", "sms"]), condition(.age, .between, ["30", "50"]),
        ]),
    ]

    /// A synthetic customer: grades, stages, branches (100), RMs (1,000), ages 18-90, assets and
    /// consents spread deterministically by index.
    static func event(_ index: Int) throws -> Crm_Feed_V1_ChangeEvent {
        var customer = Crm_Customer_V1_CustomerChanged()
        customer.id = "C" + String(repeating: "0", count: 10 - String(index + 1).count) + String(index + 1)
        customer.status = index % 50 == 0 ? .inactive : .active
        customer.kind = index % 10 == 0 ? .corporate : .individual
        customer.valueGrade = UInt32(index % 5 + 1)
        customer.lifecycleStage = Crm_Customer_V1_LifecycleStage(rawValue: index % 6 + 1) ?? .mature
        customer.birthDate = LocalDate(year: 1937 + index % 72, month: index % 12 + 1, day: index % 28 + 1).description
        customer.branchID = "BR-" + String(format: "%03d", index % 100)
        customer.relationshipManagerID = "RM" + String(format: "%04d", index % 1_000)
        customer.reportingAssetsMinor = Int64(index % 1_000) * 1_000_000
        var consent = Crm_Customer_V1_Consent()
        (consent.channel, consent.purpose, consent.granted) = (index % 3 == 0 ? .sms : .email, .marketing, index % 4 != 0)
        customer.consents = [consent]
        var event = Crm_Feed_V1_ChangeEvent()
        (event.type, event.entityKey, event.payload) = ("customer.created", customer.id, try customer.serializedBytes())
        return event
    }
}
