internal import ArgumentParser
internal import Foundation
internal import GRDB
internal import Logging
internal import NIOConcurrencyHelpers
internal import NIOCore
internal import ServiceLifecycle
internal import ServiceRuntime
internal import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// `crm-bench feed`: commit-to-applied latency of a change feed. A producer commits events at a
/// fixed rate (open loop, one transaction each) into its SQLite change log, served over loopback;
/// a FeedConsumer applies each in a transaction with its offset into another SQLite file. The
/// latency of an event runs from its producer commit to its consumer commit.
struct FeedBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feed", abstract: "Measure change feed commit-to-applied latency at a fixed event rate.")

    @Option(help: "Events per second the producer commits.")
    var rate = 1_000

    @Option(help: "Seconds of producing.")
    var duration = 10.0

    @Option(help: "full or normal: synchronous setting of both databases.")
    var durability = "full"

    @Option(help: "Folder for the two databases (emptied first).")
    var folder = "var/bench/feed"

    func run() async throws {
        guard let durability = Store.Durability(rawValue: durability) else { throw ValidationError("--durability must be full or normal") }
        let url = URL(fileURLWithPath: folder)
        try? FileManager.default.removeItem(at: url)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        var logger = Logger(label: "crm-bench")
        logger.logLevel = .error

        var producerSchema = DatabaseMigrator()
        producerSchema.registerMigration("bench-item") { db in try db.execute(sql: "CREATE TABLE item (key TEXT PRIMARY KEY, version INTEGER NOT NULL)") }
        let producer = try Store(
            configuration: .init(path: url.appendingPathComponent("producer.sqlite").path, durability: durability), migrator: producerSchema,
            logger: logger)
        var consumerSchema = DatabaseMigrator()
        consumerSchema.registerMigration("bench-mirror") { db in try db.execute(sql: "CREATE TABLE mirror (key TEXT PRIMARY KEY, version INTEGER NOT NULL)") }
        let consumerStore = try Store(
            configuration: .init(path: url.appendingPathComponent("consumer.sqlite").path, durability: durability), migrator: consumerSchema,
            logger: logger)

        let committed = NIOLockedValueBox<[UInt64: NIODeadline]>([:])
        let applied = NIOLockedValueBox<[UInt64: NIODeadline]>([:])
        var router = RPCRouter()
        FeedHandlers.register(into: &router, store: producer)
        let server = RPCServer(configuration: .init(port: 0), router: router, logger: logger)
        let serverGroup = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: logger)

        let total = Int(Double(rate) * duration)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await serverGroup.run() }
            let port = try await server.boundAddress().port!
            let consumer = FeedConsumer(
                configuration: .init(producer: "bench", consumer: "bench", client: .init(host: "127.0.0.1", port: port)),
                store: consumerStore, logger: logger
            ) { event, db in
                try db.execute(
                    sql: "INSERT INTO mirror (key, version) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET version = version + 1",
                    arguments: [event.entityKey])
                let sequence = event.sequence
                db.afterNextTransaction { _ in applied.withLockedValue { $0[sequence] = .now() } }
            }
            let consumerGroup = ServiceGroup(services: [consumer], gracefulShutdownSignals: [], logger: logger)
            tasks.addTask { try await consumerGroup.run() }

            let start = ContinuousClock.now
            for index in 0..<total {
                let due = start + .nanoseconds(Int64(Double(index) / Double(rate) * 1e9))
                if due > ContinuousClock.now { try await Task.sleep(until: due) }
                try await producer.pool.write { db in
                    try db.execute(
                        sql: "INSERT INTO item (key, version) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET version = version + 1",
                        arguments: ["E\(index % 1000)"])
                    var payload = Crm_System_V1_EchoRequest()
                    payload.payload = Data(repeating: 0x41, count: 200)
                    try ChangeLog.append(type: "bench.changed", entityKey: "E\(index % 1000)", payload: payload, atMilliseconds: 0, db)
                    let sequence = UInt64(db.lastInsertedRowID)
                    db.afterNextTransaction { _ in committed.withLockedValue { $0[sequence] = .now() } }
                }
            }
            let produced = ContinuousClock.now - start
            let deadline = ContinuousClock.now + .seconds(30)
            while applied.withLockedValue({ $0.count }) < total && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            await consumerGroup.triggerGracefulShutdown()
            await serverGroup.triggerGracefulShutdown()
            try await tasks.waitForAll()

            var recorder = LatencyRecorder()
            let commits = committed.withLockedValue { $0 }
            let applies = applied.withLockedValue { $0 }
            for (sequence, appliedAt) in applies {
                if let committedAt = commits[sequence] { recorder.record(appliedAt - committedAt) }
            }
            let seconds = Double(produced.components.seconds) + Double(produced.components.attoseconds) / 1e18
            print("change feed, \(durability.rawValue) durability on both sides, one transaction per event, 200-byte payload, loopback")
            print("| events/s asked | events/s committed | applied | p50 us | p90 us | p99 us | p99.9 us | max us |")
            print("|---:|---:|---:|---:|---:|---:|---:|---:|")
            print(
                String(
                    format: "| %d | %.0f | %d of %d | %d | %d | %d | %d | %d |", rate, Double(total) / seconds, applies.count, total,
                    recorder.percentile(50), recorder.percentile(90), recorder.percentile(99), recorder.percentile(99.9), recorder.maximum))
        }
    }
}
