import TestSupport
import Foundation
import GRDB
import NIOCore
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// The change feed with real processes: crm-customer produces (customers created by a load of
/// concurrent calls), `crm-admin feed-copy` consumes into its own SQLite file, and both are SIGKILLed
/// at random points while the load runs. Afterwards every event is in the copy exactly once and in
/// order: 10,000 events, 50 consumer kills and 10 producer kills (about 25 s here).
/// CRM_FEED_KILL_EVENTS raises the event count for a longer soak.
@Suite("Change feeds with processes killed at random", .serialized)
struct FeedProcessTests {
    @Test("producer and consumer SIGKILLed at random while events flow: every event applied exactly once, in order")
    func killAtRandom() async throws {
        let targetEvents = Int(ProcessInfo.processInfo.environment["CRM_FEED_KILL_EVENTS"] ?? "") ?? 10_000
        let consumerKills = 50
        let producerKills = 10
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crm-feed-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        let port = try await FeedProcessTests.freePort()
        let environment = ["CRM_LISTEN_PORT": "\(port)", "CRM_DATABASE_PATH": folder.appendingPathComponent("customer.sqlite").path]
        let address = "127.0.0.1:\(port)"
        let copyArguments = ["feed-copy", "--address", address, "--into", folder.appendingPathComponent("copy.sqlite").path, "--consumer", "kill-test"]
        let producer = Slot(try await ServerProcess.start("crm-customer", environment: environment, directory: folder).0)
        let consumer = Slot(try ServerProcess.launch("crm-admin", copyArguments, directory: folder))

        let client = RPCClient(
            configuration: .init(host: "127.0.0.1", port: port, initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(300), maximumAttempts: 100))
        let lastSequence = Slot<UInt64>(0)
        // The load: four workers creating customers until the producer's log holds enough events.
        async let load: Void = withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var index = 0
                    while lastSequence.value < UInt64(targetEvents) {
                        index += 1
                        var request = Crm_Customer_V1_CreateCustomerRequest()
                        request.profile.kind = .individual
                        request.profile.individual.nameLatin = "Kill Test \(worker) \(index)"
                        _ = try? await client.unary(CustomerMethods.create, request, timeout: .seconds(10))
                        if index % 20 == 0, let status = try? await client.unary(FeedMethods.status, Crm_Feed_V1_StatusRequest(), timeout: .seconds(5)) {
                            lastSequence.value = max(lastSequence.value, status.lastSequence)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        // The chaos: kill the consumer at random moments, and every few kills the producer too.
        var rng = SystemRandomNumberGenerator()
        for kill in 1...consumerKills {
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...400, using: &rng)))
            await consumer.value.kill()
            consumer.value = try ServerProcess.launch("crm-admin", copyArguments, directory: folder)
            if kill % (consumerKills / producerKills) == 0 {
                await producer.value.kill()
                producer.value = try await ServerProcess.start("crm-customer", environment: environment, directory: folder).0
            }
        }
        try await load
        let status = try await client.unary(FeedMethods.status, Crm_Feed_V1_StatusRequest(), timeout: .seconds(10))
        #expect(status.lastSequence >= UInt64(targetEvents))

        // Every event reaches the copy: exactly once (the copy's unique key would refuse a second),
        // with no gap, in sequence order, and nothing dead-lettered.
        let copy = try DatabaseQueue(path: folder.appendingPathComponent("copy.sqlite").path, configuration: { var c = Configuration(); c.readonly = true; return c }())
        var copied = 0
        for _ in 0..<300 {
            copied = try await copy.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM copied_event") ?? 0 }
            if copied >= Int(status.lastSequence) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let check = try await copy.read { db in
            (
                count: try Int.fetchOne(db, sql: "SELECT count(*) FROM copied_event") ?? 0,
                distinct: try Int.fetchOne(db, sql: "SELECT count(DISTINCT sequence) FROM copied_event") ?? 0,
                maximum: try Int.fetchOne(db, sql: "SELECT max(sequence) FROM copied_event") ?? 0,
                outOfOrder: try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM copied_event a JOIN copied_event b ON b.copy_order = a.copy_order + 1 WHERE b.sequence != a.sequence + 1") ?? 0,
                deadLetters: try Int.fetchOne(db, sql: "SELECT count(*) FROM feed_dead_letter") ?? 0,
                epochs: try Int.fetchOne(db, sql: "SELECT count(DISTINCT epoch) FROM copied_event") ?? 0
            )
        }
        #expect(check.count == Int(status.lastSequence), "copied \(check.count) of \(status.lastSequence)")
        #expect(check.distinct == check.count && check.maximum == check.count)
        #expect(check.outOfOrder == 0)
        #expect(check.deadLetters == 0)
        #expect(check.epochs == 1)

        await consumer.value.kill()
        #expect(await producer.value.stop() == 0)
        await client.close()
    }

    /// See TestSupport's ``freeLoopbackPort()``.
    static func freePort() async throws -> Int { try TestSupport.freeLoopbackPort() }
}

/// A mutable reference to the current process of a role, replaced on each restart.
final class Slot<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
