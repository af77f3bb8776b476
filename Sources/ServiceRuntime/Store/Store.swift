public import GRDB
internal import Dispatch
internal import NIOCore
internal import NIOPosix
internal import SQLiteProcessSettings
internal import Synchronization
public import Logging

/// A service's SQLite database: one `DatabasePool` per file for the life of the process, WAL,
/// foreign keys on, a busy timeout on the writer, `synchronous=FULL` unless configured otherwise,
/// `secure_delete` on, and versioned migrations run before anything else touches the data.
public final class Store: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// The database file. Its folder must exist.
        public var path: String
        public var durability: Durability
        /// How long a writer waits for the write lock before failing with SQLITE_BUSY.
        public var busyTimeoutSeconds: Double
        /// The threads (each with its own read-only connection) that ``Store/read(_:)`` runs reads on.
        public var maximumReaderCount: Int
        /// SQLite's page cache per connection, in MiB. SQLite's own default (2 MiB) is far smaller
        /// than the indexes of a large customer base, and every cache miss on an insert is a read.
        public var cacheMiB: Int
        /// The most concurrent writes ``Store/write(_:)`` commits together in one transaction
        /// (group commit); 1 gives every write its own transaction.
        public var groupCommitLimit: Int
        /// Whether ``checkpoint()`` has a connection of its own to copy WAL pages into the database
        /// beside the writer (the servers call it every 100 ms: ``WALCheckpointer``), so that the
        /// automatic checkpoint SQLite runs in the commit crossing 1,000 WAL pages finds little left.
        public var checkpointsInBackground: Bool

        /// One reader thread a core, 2 to 16: reads of cached pages are CPU work, and more threads
        /// than cores only switch more (2 against 4 on 2 cores: the history of docs/BENCHMARKS.md, "The mirrors'
        /// share of an update").
        public static var defaultReaderCount: Int { max(2, min(System.coreCount, 16)) }

        public init(
            path: String, durability: Durability = .full, busyTimeoutSeconds: Double = 5,
            maximumReaderCount: Int = Configuration.defaultReaderCount, cacheMiB: Int = 64,
            groupCommitLimit: Int = 256, checkpointsInBackground: Bool = false
        ) {
            self.path = path
            self.durability = durability
            self.busyTimeoutSeconds = busyTimeoutSeconds
            self.maximumReaderCount = maximumReaderCount
            self.cacheMiB = cacheMiB
            self.groupCommitLimit = groupCommitLimit
            self.checkpointsInBackground = checkpointsInBackground
        }
    }

    /// What a committed transaction survives (docs/OPERATIONS.md, "Durability").
    public enum Durability: String, Sendable, Hashable, CaseIterable {
        /// `synchronous=FULL`: every commit is on disk before it is acknowledged; survives a process
        /// crash and a power loss. The default.
        case full
        /// `synchronous=NORMAL`: survives a process crash; a power loss may lose the last commits
        /// (never corrupts the database in WAL mode).
        case normal

        var pragmaValue: Int { self == .full ? 2 : 1 }
    }

    public let pool: DatabasePool
    public let configuration: Configuration
    /// Where waits for the writer are recorded (nil: nowhere).
    let metrics: ServerMetrics?
    let logger: Logger
    /// Whether a ``probeWriter()`` still waits: at most one at a time, so that probes cannot pile
    /// up in the writer's queue (and ahead of real writes) while the lock is held elsewhere.
    private let probing = Mutex(false)
    /// Wakes change feed subscribers on each commit that appended to the change log.
    let feedSignal = FeedSignal()
    /// Where ``write(_:)`` queues writes so that concurrent ones share a commit.
    private let groupCommit: GroupCommit
    /// The connection ``checkpoint()`` uses, beside the pool's writer: opened by the first
    /// checkpoint, so a store nobody checkpoints (a test's) holds no file for it.
    private let checkpointer = Mutex<DatabaseQueue?>(nil)
    /// The threads ``read(_:)`` runs reads on (`maximumReaderCount` of them): they take reads
    /// from one queue and only sleep when it is empty. GRDB's own async read passes each read
    /// through two dispatch queues (its pool's wait queue, where a semaphore bounds the readers,
    /// then the reader's), and on this 2-core machine those thread wake-ups were a quarter of
    /// CustomerService's CPU at 256 views in flight.
    private let readers: NIOThreadPool
    /// Each reader thread's own read-only connection, opened on its first read. Checking a reader
    /// out of GRDB's pool takes three dispatch-queue locks and a semaphore per read, on which the
    /// reader threads queued (the history of docs/BENCHMARKS.md, "Column tables and connections per reader
    /// thread"); a thread with a connection of its own takes none. GRDB does not watch these
    /// connections for schema changes made elsewhere: the schema changes only in migrations, which
    /// run before the threads start.
    private let readerConnection = ThreadSpecificVariable<ReaderConnection>()
    /// How the reader threads open their connections.
    private let readerConfiguration: GRDB.Configuration

    /// Opens (creating if needed) the database and migrates it to the newest schema.
    ///
    /// - Parameter migrator: the service's migrations. The runtime's own tables are migrated first.
    /// - Parameter metrics: records how long each ``write(_:)`` waited for the writer.
    public init(configuration: Configuration, migrator: DatabaseMigrator, logger: Logger, metrics: ServerMetrics? = nil) throws {
        self.metrics = metrics
        self.logger = logger
        var grdb = GRDB.Configuration()
        grdb.foreignKeysEnabled = true
        grdb.busyMode = .timeout(configuration.busyTimeoutSeconds)
        grdb.maximumReaderCount = configuration.maximumReaderCount
        grdb.label = "store"
        let cacheKiB = configuration.cacheMiB * 1024
        // secure_delete: SQLite zeroes what a change deletes or overwrites (freed cells and
        // pages), so that an erased value is gone from the file, not only unreachable.
        grdb.prepareDatabase { db in try db.execute(sql: "PRAGMA cache_size = -\(cacheKiB); PRAGMA secure_delete = ON") }
        pool = try DatabasePool(path: configuration.path, configuration: grdb)
        var reading = grdb
        reading.readonly = true
        reading.label = "store-reader"
        readerConfiguration = reading
        // Created here, started at the end of init: a pool never started needs no shutdown if init throws.
        readers = NIOThreadPool(numberOfThreads: max(1, configuration.maximumReaderCount))
        self.configuration = configuration
        groupCommit = GroupCommit(pool: pool, maximumGroupSize: max(1, configuration.groupCommitLimit))
        // DatabasePool sets synchronous=NORMAL on its writer after `prepareDatabase` runs, so the
        // durability setting is applied here, once the pool is open, and read back.
        let durability = configuration.durability
        let synchronous = try pool.writeWithoutTransaction { db -> Int in
            try db.execute(sql: "PRAGMA synchronous = \(durability.pragmaValue)")
            return try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
        }
        guard synchronous == durability.pragmaValue else {
            throw StoreError(message: "could not set synchronous=\(durability) (SQLite reports \(synchronous))")
        }
        if !Self.sqliteMemoryStatisticsOff {
            logger.warning(
                "SQLite memory statistics are on: every allocation takes a process-wide lock",
                metadata: ["sqlite_result": "\(crm_sqlite_memory_statistics_off_result())"])
        }
        try Self.runtimeMigrations.migrate(pool)
        try migrator.migrate(pool)
        pool.add(transactionObserver: feedSignal, extent: .databaseLifetime)
        // On the writer: a pool read here would open a reader connection that nothing uses again
        // (reads go through the reader threads' own connections).
        let applied = try pool.writeWithoutTransaction { try migrator.appliedIdentifiers($0) }.count
        readers.start()
        logger.info(
            "database open",
            metadata: ["path": "\(configuration.path)", "durability": "\(durability.rawValue)", "migrations": "\(applied)"])
    }

    deinit {
        readers.shutdownGracefully { _ in }
    }

    /// Runs `body` in a read-only transaction (a snapshot of the last commit; never waits for the
    /// writer) on one of the store's reader threads, on that thread's own connection. Reads of the
    /// services go through here rather than `pool.read`.
    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await readers.runIfActive { [self] in try connectionOfThisThread().read(body) }
    }

    /// ``read(_:)`` without waiting: `completion` runs on the reader thread with the answer. For
    /// callers that join a read with other work (``AccessLog``) without a task hop in between.
    public func read<T: Sendable>(
        _ body: @escaping @Sendable (Database) throws -> T, completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        readers.submit { [self] state in
            guard case .active = state else { return completion(.failure(StoreError(message: "the store is closed"))) }
            completion(Result { try connectionOfThisThread().read(body) })
        }
    }

    /// The calling reader thread's connection, opened on its first read and closed when the
    /// thread ends (the store's deinit stops the threads).
    private func connectionOfThisThread() throws -> ReaderConnection {
        if let existing = readerConnection.currentValue { return existing }
        let connection = ReaderConnection(queue: try DatabaseQueue(path: configuration.path, configuration: readerConfiguration))
        readerConnection.currentValue = connection
        return connection
    }

    /// Whether SQLite counts its allocations without a process-wide lock: turned off when the
    /// program is loaded (SQLiteProcessSettings), before any connection opens.
    public static var sqliteMemoryStatisticsOff: Bool { crm_sqlite_memory_statistics_off_result() == 0 }

    /// The runtime's own tables, shared by every service.
    public static var runtimeMigrations: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("runtime-1-idempotency") { db in
            try db.create(table: "runtime_idempotency") { table in
                table.column("caller", .text).notNull()
                table.column("key", .text).notNull()
                table.column("method", .text).notNull()
                table.column("request_hash", .blob).notNull()
                table.column("response", .blob).notNull()
                table.column("created_at", .integer).notNull()
                table.primaryKey(["caller", "key"])
            }
            try db.create(index: "runtime_idempotency_created", on: "runtime_idempotency", columns: ["created_at"])
        }
        migrator.registerMigration("runtime-2-change-feeds") { db in try ChangeLog.createTables(db) }
        migrator.registerMigration("runtime-3-settings-versions") { db in try SettingsHistory.createTable(db) }
        return migrator
    }

    /// Runs `body` atomically in a write transaction and returns once that transaction has
    /// committed, recording how long it waited for SQLite's one writer
    /// (`crm_sqlite_write_wait_seconds`). Every write of the services goes through here.
    ///
    /// Writes that arrive while the writer is busy share one transaction (group commit, see
    /// ``GroupCommit``): each runs in its own savepoint, so one that throws is rolled back alone and
    /// the others commit. A `body` must therefore not begin or end transactions itself.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await groupCommit.write(onStart: writeWaitRecorder(), body)
    }

    /// ``write(_:)`` without waiting: `completion` runs on the writer's thread once the write has
    /// committed (or with its failure), and must be quick.
    public func write<T: Sendable>(
        _ body: @escaping @Sendable (Database) throws -> T, completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        groupCommit.enqueue(onStart: writeWaitRecorder(), body, completion: completion)
    }

    /// Records, when a write starts, how long it waited for the writer (nil without metrics).
    private func writeWaitRecorder() -> (@Sendable () -> Void)? {
        guard let metrics else { return nil }
        let requested = ContinuousClock.now
        return { metrics.waitedForWriter(ContinuousClock.now - requested) }
    }

    /// Copies committed WAL pages into the database file on the store's checkpoint connection (a
    /// PASSIVE checkpoint: it waits for no reader or writer and copies what it can). Returns the
    /// WAL's length and the frames copied so far; (0, 0) without
    /// ``Configuration/checkpointsInBackground``.
    @discardableResult
    public func checkpoint() async throws -> (walFrames: Int, checkpointedFrames: Int) {
        guard configuration.checkpointsInBackground else { return (0, 0) }
        let configuration = self.configuration
        let connection = try checkpointer.withLock { opened -> DatabaseQueue in
            if let opened { return opened }
            var checkpointing = GRDB.Configuration()
            checkpointing.busyMode = .timeout(configuration.busyTimeoutSeconds)
            checkpointing.label = "store-checkpointer"
            let queue = try DatabaseQueue(path: configuration.path, configuration: checkpointing)
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(configuration.durability.pragmaValue)") }
            opened = queue
            return queue
        }
        return try await connection.writeWithoutTransaction { db in
            let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")
            return (row?[1] ?? 0, row?[2] ?? 0)
        }
    }

    /// Copies the whole WAL into the database file and truncates the WAL to zero bytes, on the
    /// writer once the writes queued before it have committed (an erasure asks for it inside its
    /// write: old WAL frames still hold the page images from before the erasure). A reader or the
    /// background checkpoint in the way makes it try again 100 ms later, up to `attempts` times,
    /// without holding the writer meanwhile; then it logs that the WAL could not be emptied.
    public func purgeWAL(attempts: Int = 100) {
        pool.asyncWriteWithoutTransaction { db in
            let failure: String
            do {
                let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                if (row?[0] as Int?) == 0 { return }
                failure = "readers or another checkpoint held the WAL"
            } catch {
                failure = "\(error)"
            }
            guard attempts <= 1 else {
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(100)) { self.purgeWAL(attempts: attempts - 1) }
                return
            }
            self.logger.error(
                "could not empty the WAL after an erasure: frames from before it stay in the file until a later erasure or a clean shutdown empties it",
                metadata: ["path": "\(self.configuration.path)", "error": "\(failure)"])
        }
    }

    /// Takes the write lock and lets it go at once: fails (after the busy timeout) while another
    /// connection or process holds it, which is what readiness and the watchdog must notice.
    public func probeWriter() async throws {
        guard probing.withLock({ busy in defer { busy = true }; return !busy }) else {
            throw StoreError(message: "the previous write probe is still waiting for the write lock")
        }
        defer { probing.withLock { $0 = false } }
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            try db.execute(sql: "ROLLBACK")
        }
    }

    /// The writer's `synchronous` setting as SQLite reports it (0 OFF, 1 NORMAL, 2 FULL).
    public func writerSynchronousSetting() throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }
}

/// One reader thread's read-only connection. Unchecked: only that thread uses it.
private final class ReaderConnection: @unchecked Sendable {
    let queue: DatabaseQueue
    init(queue: DatabaseQueue) { self.queue = queue }

    /// Runs `body` in a deferred (snapshot) transaction, as `DatabaseQueue.read` does, but with
    /// BEGIN, COMMIT and ROLLBACK prepared once: GRDB prepares them again on every read, which was
    /// 8% of the reader threads' time in the single customer view (the history of docs/BENCHMARKS.md, "The view's
    /// reads without sorts or re-prepared transactions").
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try queue.inDatabase { db in
            try db.cachedStatement(sql: "BEGIN DEFERRED TRANSACTION").execute()
            let value: T
            do {
                value = try body(db)
                try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
            } catch {
                // Nothing to undo in a read-only transaction: ROLLBACK only ends it, so that the
                // thread's next read starts a snapshot of its own.
                if db.isInsideTransaction { try? db.cachedStatement(sql: "ROLLBACK TRANSACTION").execute() }
                throw error
            }
            return value
        }
    }
}

public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
