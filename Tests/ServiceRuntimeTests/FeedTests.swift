import TestSupport
import Foundation
import GRDB
import NIOCore
import SwiftProtobuf
import Logging
import ServiceLifecycle
import Synchronization
@testable import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// Change feeds between two real SQLite files over loopback: a producer store with its change log
/// behind an RPCServer, and a consumer store fed by FeedConsumer.
@Suite("Change feeds", .serialized)
struct FeedTests {
    /// The producer: `item` rows whose every change appends an event in the same transaction.
    final class Producer: Sendable {
        let store: Store
        let path: String

        init(path: String? = nil) throws {
            self.path = try path ?? StoreTests.temporaryPath()
            var migrator = DatabaseMigrator()
            migrator.registerMigration("test-items") { db in
                try db.execute(sql: "CREATE TABLE item (key TEXT PRIMARY KEY, version INTEGER NOT NULL)")
            }
            store = try Store(configuration: .init(path: self.path), migrator: migrator, logger: testLogger)
        }

        /// Changes `count` items round-robin over `entities`, one transaction each.
        func produce(_ count: Int, entities: Int = 7, poison: Set<String> = []) async throws {
            for index in 0..<count {
                let key = "E\(index % entities)"
                try await store.pool.write { db in
                    try db.execute(
                        sql: "INSERT INTO item (key, version) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET version = version + 1", arguments: [key])
                    let version = try Int.fetchOne(db, sql: "SELECT version FROM item WHERE key = ?", arguments: [key])!
                    var payload = Crm_System_V1_EchoRequest()
                    payload.payload = Data("\(version)\(poison.contains(key) ? " poison" : "")".utf8)
                    try ChangeLog.append(type: "item.changed", entityKey: key, payload: payload, atMilliseconds: 0, db)
                }
            }
        }

        var router: RPCRouter {
            var router = RPCRouter.withSystemHandlers()
            FeedHandlers.register(into: &router, store: store)
            return router
        }
    }

    /// The consumer: `applied` has the producer's sequence as its key (a double apply fails), and
    /// `entity_state` checks that each entity's versions arrive in order.
    final class Consumer: Sendable {
        let store: Store
        let poisonFixed = Recorder(false)
        /// A poison event also ends the whole transaction first, as SQLite does on a full disk or an
        /// I/O error.
        let poisonAbandonsTransaction = Recorder(false)

        init() throws {
            var migrator = DatabaseMigrator()
            migrator.registerMigration("test-applied") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE applied (sequence INTEGER PRIMARY KEY, entity TEXT NOT NULL, version INTEGER NOT NULL);
                        CREATE TABLE entity_state (entity TEXT PRIMARY KEY, version INTEGER NOT NULL);
                        """)
            }
            store = try Store(configuration: .init(path: try StoreTests.temporaryPath()), migrator: migrator, logger: testLogger)
        }

        struct OutOfOrder: Error {}
        struct Poisoned: Error {}

        var apply: FeedConsumer.Apply {
            { [poisonFixed, poisonAbandonsTransaction] event, db in
                let text = String(decoding: try Crm_System_V1_EchoRequest(serializedBytes: event.payload).payload, as: UTF8.self)
                if text.hasSuffix(" poison") && !poisonFixed.value {
                    if poisonAbandonsTransaction.value { try db.execute(sql: "ROLLBACK") }
                    throw Poisoned()
                }
                let version = Int(text.split(separator: " ")[0])!
                let previous = try Int.fetchOne(db, sql: "SELECT version FROM entity_state WHERE entity = ?", arguments: [event.entityKey]) ?? 0
                guard version == previous + 1 else { throw OutOfOrder() }
                try db.execute(
                    sql: "INSERT INTO applied (sequence, entity, version) VALUES (?, ?, ?)",
                    arguments: [Int64(event.sequence), event.entityKey, version])
                try db.execute(
                    sql: "INSERT INTO entity_state (entity, version) VALUES (?, ?) ON CONFLICT (entity) DO UPDATE SET version = excluded.version",
                    arguments: [event.entityKey, version])
            }
        }

        func feedConsumer(port: Int, maxAttempts: Int = 3) -> FeedConsumer {
            FeedConsumer(
                configuration: .init(
                    producer: "items", consumer: "test-consumer",
                    client: .init(host: "127.0.0.1", port: port, initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(200)),
                    maxAttempts: maxAttempts, retryDelay: .milliseconds(5), acknowledgeInterval: .milliseconds(50)),
                store: store, logger: testLogger, apply: apply)
        }

        var appliedCount: Int { get async throws { try await store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM applied") ?? 0 } } }

        func dump() async throws -> [String] {
            try await store.pool.read { db in
                try String.fetchAll(db, sql: "SELECT sequence || ' ' || entity || ' ' || version FROM applied ORDER BY sequence")
                    + String.fetchAll(db, sql: "SELECT entity || '=' || version FROM entity_state ORDER BY entity")
            }
        }
    }

    /// Runs the consumer until `body` returns.
    func consuming<T: Sendable>(_ consumer: FeedConsumer, _ body: @Sendable () async throws -> T) async throws -> T {
        let group = ServiceGroup(services: [consumer], gracefulShutdownSignals: [], logger: testLogger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                let result = try await body()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }

    @Test("the backlog, then live events pushed on commit: every event applied once, in order per entity")
    func backlogThenLive() async throws {
        let producer = try Producer()
        let consumer = try Consumer()
        try await producer.produce(300)
        try await withTestServer(router: producer.router) { _, port in
            let commits = GroupCommitTests.CommitCounter()
            consumer.store.pool.add(transactionObserver: commits, extent: .databaseLifetime)
            try await consuming(consumer.feedConsumer(port: port)) {
                #expect(await eventually(seconds: 10) { (try? await consumer.appliedCount) == 300 })
                // The backlog arrives faster than commits: events share transactions (one each
                // would be 300). About 20 on an idle machine; 167 once in a CI run whose machine
                // the rest of the suite saturated, so the bound is only "fewer than events".
                #expect(commits.commits.load(ordering: .relaxed) < 300, "\(commits.commits.load(ordering: .relaxed)) commits for 300 events")
                try await producer.produce(700)
                #expect(await eventually(seconds: 20) { (try? await consumer.appliedCount) == 1000 })
            }
        }
        let offset = try await consumer.store.pool.read { try FeedConsumer.offset(producer: "items", $0) }
        #expect(offset.sequence == 1000)
        #expect(offset.epoch == (try await producer.store.pool.read { try ChangeLog.epoch($0) }))
    }

    @Test("the producer restarts twice while events flow: the consumer reconnects and misses nothing")
    func producerRestarts() async throws {
        let producer = try Producer()
        let consumer = try Consumer()
        let port = try freeLoopbackPort()
        let feedConsumer = consumer.feedConsumer(port: port)
        try await consuming(feedConsumer) {
            for round in 1...3 {
                try await withTestServer(router: producer.router, configuration: .init(port: port)) { _, _ in
                    try await producer.produce(200)
                    #expect(await eventually(seconds: 20) { (try? await consumer.appliedCount) == 250 * round - 50 })
                }
                // Produced while the server is down: delivered after the restart.
                try await producer.produce(50)
            }
            try await withTestServer(router: producer.router, configuration: .init(port: port)) { _, _ in
                #expect(await eventually(seconds: 20) { (try? await consumer.appliedCount) == 750 })
            }
        }
    }

    @Test("pruning the whole log, its highest row too, then producing: the new event arrives with a new sequence")
    func pruneThenProduce() async throws {
        let producer = try Producer()
        let consumer = try Consumer()
        try await producer.produce(20)
        try await withTestServer(router: producer.router) { _, port in
            try await consuming(consumer.feedConsumer(port: port)) {
                #expect(await eventually(seconds: 10) { (try? await consumer.appliedCount) == 20 })
                // Wait for the acknowledgement, then prune everything acknowledged.
                #expect(await eventually(seconds: 10) {
                    (try? await producer.store.pool.read { try FeedHandlers.status($0) }.consumers.first?.acknowledgedSequence) == 20
                })
                let pruned = try await producer.store.pool.write { db in try ChangeLog.prune(retentionMilliseconds: 0, nowMilliseconds: 1, db) }
                #expect(pruned == 20)
                let status = try await producer.store.pool.read { try FeedHandlers.status($0) }
                #expect((status.retainedEvents, status.lastSequence, status.firstSequence) == (0, 20, 21))
                try await producer.produce(1)
                #expect(await eventually(seconds: 10) { (try? await consumer.appliedCount) == 21 })
            }
        }
        #expect(try await consumer.dump().first { $0.hasPrefix("21 ") } != nil, "sequence 21, not a reused 20")
    }

    @Test("the pruner deletes what every consumer acknowledged once it is older than the window, and nothing while no consumer is registered")
    func pruner() async throws {
        let producer = try Producer()
        try await producer.produce(10)
        let pruner = ChangeLogPruner.job(store: producer.store, retention: .zero, interval: .milliseconds(10), logger: testLogger)
        let group = ServiceGroup(services: [pruner], gracefulShutdownSignals: [], logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await producer.store.pool.read { try FeedHandlers.status($0) }.retainedEvents == 10, "no consumer yet")
            try await producer.store.pool.write { db in try db.execute(sql: "INSERT INTO feed_consumer VALUES ('slow', 4, 0)") }
            #expect(await eventually { (try? await producer.store.pool.read { try FeedHandlers.status($0) }.firstSequence) == 5 })
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let status = try await producer.store.pool.read { try FeedHandlers.status($0) }
        #expect(status.retainedEvents == 6)
        #expect(status.consumers.first?.lagEvents == 6)
        // A consumer gone for good is removed, and holds nothing back any more.
        try await withTestServer(router: producer.router) { _, port in
            let connection = try await RPCConnection.connect(host: "127.0.0.1", port: port)
            var remove = Crm_Feed_V1_RemoveConsumerRequest()
            remove.consumer = "slow"
            #expect(try await connection.unary(FeedMethods.removeConsumer, remove).removed)
            #expect(try await connection.unary(FeedMethods.removeConsumer, remove).removed == false)
            await connection.close()
        }
        #expect(try await producer.store.pool.read { try FeedHandlers.status($0) }.consumers.isEmpty)
    }

    @Test("replaying the last 500 events changes no consumer state")
    func replayChangesNothing() async throws {
        let producer = try Producer()
        let consumer = try Consumer()
        try await producer.produce(1000)
        let feedConsumer: FeedConsumer = try await withTestServer(router: producer.router) { _, port in
            let feedConsumer = consumer.feedConsumer(port: port)
            try await consuming(feedConsumer) {
                #expect(await eventually(seconds: 20) { (try? await consumer.appliedCount) == 1000 })
            }
            return feedConsumer
        }
        let before = try await consumer.dump()
        let epoch = try await producer.store.pool.read { try ChangeLog.epoch($0) }
        let replay = try await producer.store.pool.read { db in try ChangeLog.events(after: 500, limit: 500, epoch: epoch, db) }
        #expect(replay.count == 500)
        for event in replay { try await feedConsumer.handle(event) }
        #expect(try await consumer.dump() == before)
    }

    @Test("a poison event is dead-lettered after its attempts, its entity's later events wait behind it, others flow; a retry after the fix applies them in order")
    func poisonEvent() async throws {
        let producer = try Producer()
        let consumer = try Consumer()
        try await producer.produce(7)
        try await producer.produce(1, entities: 7, poison: ["E0"])  // E0 version 2 is poison
        try await producer.produce(14)  // E0 gets versions 3 and 4; every other entity flows
        let feedConsumer: FeedConsumer = try await withTestServer(router: producer.router) { _, port in
            let feedConsumer = consumer.feedConsumer(port: port, maxAttempts: 3)
            try await consuming(feedConsumer) {
                #expect(await eventually(seconds: 10) {
                    (try? await consumer.store.pool.read { try FeedConsumer.offset(producer: "items", $0) }.sequence) == 22
                })
            }
            return feedConsumer
        }
        #expect(try await consumer.appliedCount == 19)
        let letters = try await consumer.store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT sequence, entity_key, attempts, error FROM feed_dead_letter ORDER BY sequence").map {
                "\($0["sequence"] as Int64) \($0["entity_key"] as String) \($0["attempts"] as Int)"
            }
        }
        #expect(letters == ["8 E0 3", "9 E0 0", "16 E0 0"])
        // An operator lists and retries them through the consuming service's Feed methods.
        var consumerRouter = RPCRouter.withSystemHandlers()
        FeedHandlers.register(into: &consumerRouter, consumers: [feedConsumer])
        try await withTestServer(router: consumerRouter) { _, port in
            let connection = try await RPCConnection.connect(host: "127.0.0.1", port: port)
            let listed = try await connection.unary(FeedMethods.listDeadLetters, Crm_Feed_V1_ListDeadLettersRequest())
            #expect(listed.letters.map(\.event.sequence) == [8, 9, 16])
            #expect(listed.letters.first?.error.contains("Poisoned") == true)
            #expect(listed.letters.last?.error == "held behind dead letter 1 of the same entity")
            var retry = Crm_Feed_V1_RetryDeadLettersRequest()
            retry.producer = "items"
            let stillBroken = try await connection.unary(FeedMethods.retryDeadLetters, retry)
            #expect((stillBroken.applied, stillBroken.stillOpen) == (0, 3), "still poisoned: nothing applies, nothing is skipped")
            consumer.poisonFixed.update { $0 = true }
            let fixed = try await connection.unary(FeedMethods.retryDeadLetters, retry)
            #expect((fixed.applied, fixed.stillOpen) == (3, 0))
            #expect(try await connection.unary(FeedMethods.listDeadLetters, Crm_Feed_V1_ListDeadLettersRequest()).letters.isEmpty)
            retry.producer = "nobody"
            await #expect(throws: RPCError.self) { _ = try await connection.unary(FeedMethods.retryDeadLetters, retry) }
            await connection.close()
        }
        #expect(try await consumer.dump().contains("E0=4"))
        #expect(try await consumer.appliedCount == 22)
    }

    /// The consumer's offset as each transaction commits.
    final class OffsetsAtCommit: TransactionObserver, Sendable {
        let sequences = Mutex<[UInt64]>([])
        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { true }
        func databaseDidChange(with event: DatabaseEvent) {}
        func databaseDidCommit(_ db: Database) {
            let sequence = (try? FeedConsumer.offset(producer: "items", db).sequence) ?? 0
            sequences.withLock { $0.append(sequence) }
        }
        func databaseDidRollback(_ db: Database) {}
    }

    @Test("events that arrived together are applied in one transaction; one that fails mid-batch: those before it commit, it is retried and dead-lettered, those after it follow in order")
    func batchWithPoison() async throws {
        let producer = try Producer()
        let consumer = try Consumer()
        try await producer.produce(7)
        try await producer.produce(1, entities: 7, poison: ["E0"])  // sequence 8: E0 version 2 is poison
        try await producer.produce(14)  // E0 versions 3 and 4 at 9 and 16 wait behind it
        let epoch = try await producer.store.pool.read { try ChangeLog.epoch($0) }
        let events = try await producer.store.pool.read { db in try ChangeLog.events(after: 0, limit: 100, epoch: epoch, db) }
        #expect(events.count == 22)
        let commits = GroupCommitTests.CommitCounter()
        consumer.store.pool.add(transactionObserver: commits, extent: .databaseLifetime)
        let offsets = OffsetsAtCommit()
        consumer.store.pool.add(transactionObserver: offsets, extent: .databaseLifetime)

        try await consumer.feedConsumer(port: 1, maxAttempts: 3).handle(events)
        // Each commit carries the offset of the last event it applied or dead-lettered: 1 to 7, the
        // two failed attempts at 8 (their savepoints rolled back, the empty group still commits), 8
        // dead-lettered, 9 to 22.
        #expect(offsets.sequences.withLock { $0 } == [7, 7, 7, 8, 22])

        // 1 to 7 in one transaction; 8 tried twice more on its own, then dead-lettered; 9 to 22 in one.
        // One transaction an event would be 22 commits or more.
        #expect(commits.commits.load(ordering: .relaxed) <= 5, "\(commits.commits.load(ordering: .relaxed)) commits")
        #expect(try await consumer.appliedCount == 19)
        let letters = try await consumer.store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT sequence, entity_key, attempts FROM feed_dead_letter ORDER BY sequence").map {
                "\($0["sequence"] as Int64) \($0["entity_key"] as String) \($0["attempts"] as Int)"
            }
        }
        #expect(letters == ["8 E0 3", "9 E0 0", "16 E0 0"])
        #expect(try await consumer.store.pool.read { try FeedConsumer.offset(producer: "items", $0) }.sequence == 22)
        // Applying the same events again changes nothing.
        let before = try await consumer.dump()
        try await consumer.feedConsumer(port: 1, maxAttempts: 3).handle(events)
        #expect(try await consumer.dump() == before)
    }

    @Test("an event that fails after SQLite abandoned the batch's transaction: nothing of the batch commits, not even its offset")
    func batchWhoseTransactionIsAbandoned() async throws {
        let producer = try Producer()
        let consumer = try Consumer()
        try await producer.produce(7)
        try await producer.produce(1, entities: 7, poison: ["E0"])
        let epoch = try await producer.store.pool.read { try ChangeLog.epoch($0) }
        let events = try await producer.store.pool.read { db in try ChangeLog.events(after: 0, limit: 100, epoch: epoch, db) }
        consumer.poisonAbandonsTransaction.update { $0 = true }

        await #expect(throws: (any Error).self) { try await consumer.feedConsumer(port: 1, maxAttempts: 3).handle(events) }

        // Events 1 to 7 were rolled back with the transaction; an offset of 7 would skip them for good.
        #expect(try await consumer.store.pool.read { try FeedConsumer.offset(producer: "items", $0) }.sequence == 0)
        #expect(try await consumer.appliedCount == 0)
        consumer.poisonAbandonsTransaction.update { $0 = false }
        consumer.poisonFixed.update { $0 = true }
        try await consumer.feedConsumer(port: 1, maxAttempts: 3).handle(events)
        #expect(try await consumer.appliedCount == 8)
    }

    @Test("a producer whose log is replaced (a new epoch): the consumer starts the new log from its beginning")
    func epochChange() async throws {
        let first = try Producer()
        try await first.produce(5)
        let consumer = try Consumer()
        let seen = Recorder<[String]>([])
        let port = try freeLoopbackPort()
        let feedConsumer = FeedConsumer(
            configuration: .init(
                producer: "items", consumer: "epoch-test",
                client: .init(host: "127.0.0.1", port: port, initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(200)),
                retryDelay: .milliseconds(5), acknowledgeInterval: .milliseconds(50)),
            store: consumer.store, logger: testLogger
        ) { event, _ in seen.update { $0.append("\(event.producerEpoch.prefix(4)):\(event.sequence)") } }
        try await consuming(feedConsumer) {
            try await withTestServer(router: first.router, configuration: .init(port: port)) { _, _ in
                #expect(await eventually { seen.value.count == 5 })
            }
            // A different database behind the same address: a restored backup, a reinstallation.
            let second = try Producer()
            try await second.produce(3)
            try await withTestServer(router: second.router, configuration: .init(port: port)) { _, _ in
                #expect(await eventually { seen.value.count == 8 })
            }
            let secondEpoch = try await second.store.pool.read { try ChangeLog.epoch($0) }
            #expect(Array(seen.value.suffix(3)) == (1...3).map { "\(secondEpoch.prefix(4)):\($0)" })
            let offset = try await consumer.store.pool.read { try FeedConsumer.offset(producer: "items", $0) }
            #expect(offset == FeedConsumer.Offset(epoch: secondEpoch, sequence: 3))
        }
    }

    @Test("Subscribe refuses a position that does not exist, a pruned one, and another log's epoch")
    func subscribePositions() async throws {
        let producer = try Producer()
        try await producer.produce(10)
        try await withTestServer(router: producer.router) { _, port in
            let connection = try await RPCConnection.connect(host: "127.0.0.1", port: port)
            func firstError(_ configure: (inout Crm_Feed_V1_SubscribeRequest) -> Void) async -> RPCError? {
                var request = Crm_Feed_V1_SubscribeRequest()
                request.consumer = "probe"
                configure(&request)
                do {
                    for try await _ in try connection.serverStream(FeedMethods.subscribe, request) { return nil }
                } catch let error as RPCError {
                    return error
                } catch {}
                return nil
            }
            #expect(await firstError { $0.afterSequence = 11 }?.code == .invalidArgument)
            #expect(await firstError { $0.epoch = "another-log" }?.reason == "EPOCH_CHANGED")
            #expect(await firstError { $0.consumer = "no spaces" }?.code == .invalidArgument)
            _ = try await producer.store.pool.write { db in
                try db.execute(sql: "INSERT INTO feed_consumer VALUES ('probe', 5, 0)")
                return try ChangeLog.prune(retentionMilliseconds: 0, nowMilliseconds: 1, db)
            }
            let pruned = await firstError { $0.afterSequence = 2 }
            #expect(pruned?.reason == "EVENTS_PRUNED")
            #expect(pruned?.details["first_sequence"] == "6")
            await connection.close()
        }
    }
}

