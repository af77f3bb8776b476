internal import ArgumentParser
internal import Foundation
internal import GRDB
internal import Logging
internal import NIOConcurrencyHelpers
internal import NIOCore
internal import ServiceDeskService
internal import ServiceRuntime
internal import SwiftProtobuf
internal import WireProtocol
internal import CRMAPI

/// `crm-bench servicedesk`: ServiceDesk at volume. Loads N cases into a new database (through
/// CaseDesk's own rules, 1,000 per transaction, on a clock that starts on a Monday morning), then
/// measures listing a queue's first page and a page deep inside it, and one SLA sweep with every
/// first-response warning due, and one with nothing due, and CaseReport over every case.
struct ServiceDeskBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "servicedesk", abstract: "Load N cases, then time queue listing and SLA sweeps.")

    @Option(help: "How many cases.")
    var count = 100_000

    @Option(help: "The database file to create (removed first).")
    var database = "var/bench/servicedesk.sqlite"

    @Option(help: "How many queues the cases spread over.")
    var queues = 20

    @Option(help: "List calls per measurement.")
    var calls = 2_000

    func run() async throws {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: database).deletingLastPathComponent(), withIntermediateDirectories: true)
        var logger = Logger(label: "crm-bench")
        logger.logLevel = .warning
        let store = try Store(configuration: .init(path: database, cacheMiB: 256), migrator: ServiceDeskSchema.migrator, logger: logger)
        // Monday 23 November 2026, 09:00 in Shanghai.
        let monday = Date(timeIntervalSince1970: 1_795_395_600)
        let clock = NIOLockedValueBox(monday)
        let desk = CaseDesk(now: { clock.withLockedValue { $0 } })
        let queues = self.queues

        var policies = Crm_Servicedesk_V1_SetSlaPoliciesRequest()
        var policy = Crm_Servicedesk_V1_SlaPolicy()
        (policy.kind, policy.priority, policy.firstResponseMinutes, policy.resolutionMinutes, policy.warningPercent) = (.complaint, .high, 60, 480, 75)
        policies.policies = [policy]
        let finishedPolicies = policies
        _ = try await store.pool.write { db in try desk.setPolicies(finishedPolicies, actor: "crm-bench", db) }

        // The customers, as the customer feed would bring them.
        let mirror = CustomerMirror(desk: desk)
        let customers = min(count, 50_000)
        for first in stride(from: 0, to: customers, by: 5_000) {
            try await store.pool.write { db in
                for index in first..<min(customers, first + 5_000) {
                    var customer = Crm_Customer_V1_CustomerChanged()
                    (customer.id, customer.status, customer.valueGrade) = ("C" + String(format: "%010d", index + 1), .active, UInt32(index % 5 + 1))
                    var event = Crm_Feed_V1_ChangeEvent()
                    (event.type, event.entityKey, event.payload) = ("customer.created", customer.id, try customer.serializedBytes())
                    try mirror.apply(event, db)
                }
            }
        }

        var started = Date()
        var loaded = 0
        while loaded < count {
            let range = loaded..<min(count, loaded + 1_000)
            try await store.pool.write { db in
                for index in range {
                    var request = Crm_Servicedesk_V1_OpenCaseRequest()
                    request.kind = .complaint
                    request.category = Self.categories[index % Self.categories.count]
                    request.channel = Crm_Servicedesk_V1_CaseChannel(rawValue: index % 5 + 1) ?? .phone
                    request.priority = .high
                    request.customerID = "C" + String(format: "%010d", index % customers + 1)
                    request.subject = "case \(index)"
                    request.queue = "queue-\(index % queues)"
                    _ = try desk.open(request, actor: "crm-bench", db)
                }
            }
            loaded = range.upperBound
        }
        var lines = [String(format: "loaded %d cases (2 SLA clocks each) in %.1f s (%.0f cases/s)", count, Date().timeIntervalSince(started),
                            Double(count) / Date().timeIntervalSince(started))]

        for deep in [false, true] {
            var recorder = LatencyRecorder()
            let begun = NIODeadline.now()
            for call in 0..<calls {
                var request = Crm_Servicedesk_V1_ListCasesRequest()
                request.queue = "queue-\(call % queues)"
                request.pageSize = 50
                if deep { request.pageToken = PageToken.token(afterKey: Int64(count / 2)) }
                let finished = request
                let sent = NIODeadline.now()
                _ = try await store.read { db in try desk.list(finished, db) }
                recorder.record(NIODeadline.now() - sent)
            }
            recorder.elapsed = NIODeadline.now() - begun
            lines.append(recorder.markdownRow(deep ? "ListCases, page of 50 from the middle" : "ListCases, first page of 50", inFlight: 1))
        }

        // 10:00: every first-response warning (75% of 60 min = 09:45) is due; the breaches are not.
        clock.withLockedValue { $0 = monday.addingTimeInterval(3_600 - 60) }
        started = Date()
        let due = try await SLASweeper.sweepAll(store: store, desk: desk)
        let dueSeconds = Date().timeIntervalSince(started)
        started = Date()
        let idle = try await SLASweeper.sweepAll(store: store, desk: desk)
        let idleSeconds = Date().timeIntervalSince(started)
        lines.append(String(format: "sweep with every first-response warning due: %d clocks checked, %d warnings fired in %.2f s (%.0f per second)",
                            due.checked, due.warnings, dueSeconds, Double(due.warnings) / dueSeconds))
        lines.append(String(format: "sweep right after, nothing due: %d clocks checked in %.2f ms", idle.checked, idleSeconds * 1000))

        // CaseReport over every case loaded (one day's window), best of three.
        var report = Crm_Servicedesk_V1_CaseReportRequest()
        report.fromTime.milliseconds = Int64(monday.timeIntervalSince1970 * 1000) - 3_600_000
        report.toTime.milliseconds = report.fromTime.milliseconds + 86_400_000
        let finishedReport = report
        var best = Double.infinity
        var cases: UInt32 = 0
        for _ in 0..<3 {
            started = Date()
            cases = try await store.read { db in try CaseReport.run(finishedReport, db) }.cases
            best = min(best, Date().timeIntervalSince(started))
        }
        lines.append(String(format: "CaseReport over %d cases: %.0f ms (best of 3)", cases, best * 1000))
        print(lines.joined(separator: "\n"))
    }

    static let categories = ["cards/fees", "cards/fraud", "loans/mortgage", "deposits/term", "digital/app"]
}
