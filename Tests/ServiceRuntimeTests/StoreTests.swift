import Foundation
import GRDB
import GRDBSQLite
import NIOCore
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

@Suite("SQLite store")
struct StoreTests {
    static func temporaryPath() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crm-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder.appendingPathComponent("test.sqlite").path
    }

    static var counterMigrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("test-1-counter") { db in
            try db.execute(sql: "CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
            try db.execute(sql: "INSERT INTO counter (id, value) VALUES (1, 0)")
        }
        return migrator
    }

    @Test("SQLite keeps no memory statistics, so no allocation takes its process-wide lock, also once stores read and write")
    func memoryStatisticsOff() async throws {
        #expect(Store.sqliteMemoryStatisticsOff)
        let store = try Store(configuration: .init(path: try Self.temporaryPath()), migrator: Self.counterMigrator, logger: testLogger)
        try await store.write { db in try db.execute(sql: "UPDATE counter SET value = value + 1") }
        #expect(try await store.read { db in try Int.fetchOne(db, sql: "SELECT value FROM counter") } == 1)
        var (current, highest): (sqlite3_int64, sqlite3_int64) = (-1, -1)
        #expect(sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &current, &highest, 0) == SQLITE_OK)
        #expect(current == 0 && highest == 0)
    }

    @Test("the writer runs with synchronous=FULL by default, read back from the writer connection")
    func synchronousFull() throws {
        let store = try Store(configuration: .init(path: try Self.temporaryPath()), migrator: Self.counterMigrator, logger: testLogger)
        #expect(try store.writerSynchronousSetting() == 2)
        // And it stays FULL on the writer across transactions.
        try store.pool.write { db in try db.execute(sql: "UPDATE counter SET value = value + 1") }
        #expect(try store.writerSynchronousSetting() == 2)
    }

    @Test("with background checkpoints, checkpoint() copies the committed WAL frames into the database on its own connection")
    func backgroundCheckpoint() async throws {
        let path = try Self.temporaryPath()
        let store = try Store(
            configuration: .init(path: path, checkpointsInBackground: true), migrator: Self.counterMigrator, logger: testLogger)
        for _ in 0..<20 { try await store.write { db in try db.execute(sql: "UPDATE counter SET value = value + 1") } }
        let (walFrames, checkpointed) = try await store.checkpoint()
        #expect(walFrames > 0)
        #expect(checkpointed == walFrames, "no reader holds an older snapshot, so every frame is copied")
        // The database file alone (read without the WAL) now holds the last committed value.
        let copy = path + ".copy"
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let plain = try DatabaseQueue(path: copy)
        #expect(try await plain.read { try Int.fetchOne($0, sql: "SELECT value FROM counter") } == 20)

        let withoutSchedule = try Store(configuration: .init(path: try Self.temporaryPath()), migrator: Self.counterMigrator, logger: testLogger)
        #expect(try await withoutSchedule.checkpoint() == (0, 0))
    }

    @Test("read(): 200 concurrent reads on two reader threads, each on its own connection, see the last commit, before and after a write; a read's error reaches its caller; a read cannot write")
    func readsOnReaderThreads() async throws {
        let store = try Store(
            configuration: .init(path: try Self.temporaryPath(), maximumReaderCount: 2), migrator: Self.counterMigrator, logger: testLogger)
        @Sendable func readConcurrently() async throws -> [Int?] {
            try await withThrowingTaskGroup(of: Int?.self) { group in
                for _ in 0..<200 { group.addTask { try await store.read { db in try Int.fetchOne(db, sql: "SELECT value FROM counter") } } }
                return try await group.reduce(into: [Int?]()) { $0.append($1) }
            }
        }
        try await store.write { db in try db.execute(sql: "UPDATE counter SET value = 41") }
        let values = try await readConcurrently()
        #expect(values.count == 200)
        #expect(values.allSatisfy { $0 == 41 })
        await #expect(throws: DatabaseError.self) { try await store.read { db in try db.execute(sql: "SELECT nothing FROM nowhere") } }
        await #expect(throws: DatabaseError.self) { try await store.read { db in try db.execute(sql: "UPDATE counter SET value = 0") } }
        try await store.write { db in try db.execute(sql: "UPDATE counter SET value = value + 1") }
        // Both threads' connections were opened before this commit; each read still starts from it.
        let after = try await readConcurrently()
        #expect(after.count == 200)
        #expect(after.allSatisfy { $0 == 42 })
    }

    @Test("a read that fails after it began reading ends its snapshot: the thread's next read sees later commits")
    func failedReadEndsItsTransaction() async throws {
        struct Abandoned: Error {}
        let store = try Store(
            configuration: .init(path: try Self.temporaryPath(), maximumReaderCount: 1), migrator: Self.counterMigrator, logger: testLogger)
        try await store.write { db in try db.execute(sql: "UPDATE counter SET value = 1") }
        await #expect(throws: Abandoned.self) {
            try await store.read { db -> Int? in
                #expect(try Int.fetchOne(db, sql: "SELECT value FROM counter") == 1)
                throw Abandoned()
            }
        }
        try await store.write { db in try db.execute(sql: "UPDATE counter SET value = 2") }
        #expect(try await store.read { db in try Int.fetchOne(db, sql: "SELECT value FROM counter") } == 2)
        #expect(try await store.read { db in db.isInsideTransaction } == true, "each read runs in a transaction")
    }

    @Test("read and write with a completion: each runs on its own thread and hands back its answer or its error")
    func completionForms() async throws {
        let store = try Store(configuration: .init(path: try Self.temporaryPath()), migrator: Self.counterMigrator, logger: testLogger)
        func written(_ sql: String) async -> Result<Int?, any Error> {
            await withCheckedContinuation { continuation in
                store.write({ db in try db.execute(sql: sql); return try Int.fetchOne(db, sql: "SELECT value FROM counter") }) {
                    continuation.resume(returning: $0)
                }
            }
        }
        func read(_ sql: String) async -> Result<Int?, any Error> {
            await withCheckedContinuation { continuation in
                store.read({ db in try Int.fetchOne(db, sql: sql) }) { continuation.resume(returning: $0) }
            }
        }
        #expect(try await written("UPDATE counter SET value = 7").get() == 7)
        #expect(try await read("SELECT value FROM counter").get() == 7)
        await #expect(throws: DatabaseError.self) { try await written("UPDATE nowhere SET value = 8").get() }
        await #expect(throws: DatabaseError.self) { try await read("SELECT nothing FROM nowhere").get() }
        // The failed write was rolled back alone; the committed one stands.
        #expect(try await read("SELECT value FROM counter").get() == 7)
    }

    @Test("durability normal is applied when configured")
    func synchronousNormal() throws {
        let store = try Store(
            configuration: .init(path: try Self.temporaryPath(), durability: .normal), migrator: Self.counterMigrator, logger: testLogger)
        #expect(try store.writerSynchronousSetting() == 1)
    }

    @Test("the configured page cache is set on the writer and on the pool's readers")
    func cacheSize() throws {
        let store = try Store(
            configuration: .init(path: try Self.temporaryPath(), cacheMiB: 96), migrator: Self.counterMigrator, logger: testLogger)
        #expect(try store.pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA cache_size") } == -96 * 1024)
        #expect(try store.pool.read { try Int.fetchOne($0, sql: "PRAGMA cache_size") } == -96 * 1024)
    }

    @Test("the reader threads' own connections have the configured page cache and foreign keys on")
    func readerThreadConnections() async throws {
        let store = try Store(
            configuration: .init(path: try Self.temporaryPath(), cacheMiB: 96), migrator: Self.counterMigrator, logger: testLogger)
        let (cache, foreignKeys) = try await store.read { db in
            (try Int.fetchOne(db, sql: "PRAGMA cache_size"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(cache == -96 * 1024)
        #expect(foreignKeys == 1)
    }

    @Test("WAL, foreign keys and a writer busy timeout are on; migrations ran, and reopening is a no-op")
    func pragmasAndMigrations() throws {
        let path = try Self.temporaryPath()
        do {
            let store = try Store(configuration: .init(path: path), migrator: Self.counterMigrator, logger: testLogger)
            let (journal, foreignKeys, busyTimeout, value) = try store.pool.writeWithoutTransaction { db in
                (
                    try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"),
                    try Int.fetchOne(db, sql: "PRAGMA busy_timeout"), try Int.fetchOne(db, sql: "SELECT value FROM counter")
                )
            }
            #expect(journal == "wal")
            #expect(foreignKeys == 1)
            #expect(busyTimeout == 5000)
            #expect(value == 0)
            try store.pool.write { db in try db.execute(sql: "UPDATE counter SET value = 41") }
        }
        let reopened = try Store(configuration: .init(path: path), migrator: Self.counterMigrator, logger: testLogger)
        #expect(try reopened.pool.read { try Int.fetchOne($0, sql: "SELECT value FROM counter") } == 41)
        #expect(try reopened.pool.read { try Self.counterMigrator.appliedIdentifiers($0) } == ["runtime-1-idempotency", "runtime-2-change-feeds", "runtime-3-settings-versions", "test-1-counter"])
    }

    @Test("an idempotent retry returns the first answer and changes nothing more")
    func idempotentRetry() async throws {
        let store = try Store(configuration: .init(path: try Self.temporaryPath()), migrator: Self.counterMigrator, logger: testLogger)
        var router = RPCRouter.withSystemHandlers()
        // A mutating method stand-in: Echo that increments a counter and answers with its new value.
        router.register(SystemMethods.echo) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in
                try db.execute(sql: "UPDATE counter SET value = value + 1")
                var response = Crm_System_V1_EchoResponse()
                response.payload = Data("\(try Int.fetchOne(db, sql: "SELECT value FROM counter")!)".utf8)
                return response
            }
        }
        try await withTestServer(router: router) { _, port in
            let connection = try await RPCConnection.connect(host: "127.0.0.1", port: port)
            let keyed = Metadata(idempotencyKey: "transfer-42")
            let first = try await connection.unary(SystemMethods.echo, echoRequest("a"), metadata: keyed)
            let retry = try await connection.unary(SystemMethods.echo, echoRequest("a"), metadata: keyed)
            #expect(first == retry)
            #expect(String(decoding: first.payload, as: UTF8.self) == "1")
            // Without a key every call runs.
            let unkeyed = try await connection.unary(SystemMethods.echo, echoRequest("a"))
            #expect(String(decoding: unkeyed.payload, as: UTF8.self) == "2")
            // The same key with another request is refused, not processed.
            do {
                _ = try await connection.unary(SystemMethods.echo, echoRequest("b"), metadata: keyed)
                Issue.record("a reused key with a different request must be refused")
            } catch let error as RPCError {
                #expect(error.code == .failedPrecondition)
                #expect(error.reason == "IDEMPOTENCY_KEY_REUSED")
            }
            let counter = try await store.pool.read { try Int.fetchOne($0, sql: "SELECT value FROM counter") }
            #expect(counter == 2)
            await connection.close()
        }
        // Past the window the record is pruned.
        #expect(try await store.pruneIdempotencyKeys(olderThanSeconds: -1) == 1)
    }
}
