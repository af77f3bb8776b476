public import GRDB
public import Logging
public import ServiceRuntime
internal import Synchronization

/// The read-access log: who was shown which customer's personal data unmasked, as a hash chain of
/// its own (``AuditLog/Chain/access``) in a database file of its own beside the customer database.
///
/// Why a file of its own: an unmasked read must leave a durable row before its answer goes out. In
/// the customer database that row made every such read a write, serialised on the one writer, and
/// every commit there makes SQLite drop the page cache of each reader connection
/// (the history of docs/BENCHMARKS.md, "Column tables and connections per reader thread"). Here the read runs on a
/// reader thread of the customer store, whose file then changes only when customer data does, and
/// only the row is written, group-committed on this file's writer.
public final class AccessLog: Sendable {
    public let store: Store
    /// Rows waiting for the writer: those that arrive while a write of rows waits or runs go in
    /// the next one, one savepoint and one read and update of the chain's head for all of them.
    private let waiting = WaitingRows()

    /// Opens (creating if needed) the access log at `path`, as durable as `database` (the customer
    /// store's configuration; its group commit limit and busy timeout too).
    public init(path: String, besides database: Store.Configuration, logger: Logger, metrics: ServerMetrics? = nil) throws {
        var configuration = database
        configuration.path = path
        // Read only by ListAudit (access) and VerifyAudit. Each row goes into the per-customer
        // index at a random page, and a page missing from the cache is a read on the one writer
        // every audited read waits for: the customer store's cache size, up to 64 MiB (8 MiB
        // missed on about every row; the history of docs/BENCHMARKS.md, "The mirrors' share of an update").
        configuration.maximumReaderCount = 1
        configuration.cacheMiB = min(database.cacheMiB, 64)
        // Every unmasked read commits here, so the automatic checkpoint (run inside the commit
        // that crosses 1,000 WAL pages) would hold up every read waiting for its row:
        // ``checkpointJob(logger:)`` copies the WAL in the background, as for the customer database.
        configuration.checkpointsInBackground = true
        store = try Store(configuration: configuration, migrator: Self.migrator, logger: logger, metrics: metrics)
    }

    /// Copies the access log's WAL into its file every 100 ms (``WALCheckpointer``); run it
    /// beside the server.
    public func checkpointJob(logger: Logger) -> PeriodicJob {
        WALCheckpointer.job(store: store, logger: logger)
    }

    /// Where the access log of the customer database at `databasePath` lives by default: beside it,
    /// `customer.sqlite` -> `customer-access.sqlite`.
    public static func defaultPath(besides databasePath: String) -> String {
        let folderEnd = databasePath.lastIndex(of: "/").map { databasePath.index(after: $0) } ?? databasePath.startIndex
        let file = databasePath[folderEnd...]
        guard let dot = file.lastIndex(of: "."), dot != file.startIndex else { return databasePath + "-access" }
        return databasePath[..<dot] + "-access" + databasePath[dot...]
    }

    public static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("access-1-log") { db in try AuditLog.createTables(db, chain: .access) }
        return migrator
    }

    /// Runs a read of customer `id` that may show personal data on a reader thread of `store` and,
    /// if `caller` sees it unmasked, writes the read's row here: the path of every such read
    /// (Customer.Get, Customer.GetView, Customer.ListAudit, and the gRPC baseline's view in
    /// Benchmarks/). The read and the row's durable commit run at the same time, on different
    /// threads, and the answer is returned only once both are done: the commit's fsync no longer
    /// adds to the read's time. So the row is written for every read that starts, also one that
    /// then fails (a customer not found): whether someone is a customer is itself confidential,
    /// and an access log may record an attempt but must never miss a disclosure. A read whose row
    /// cannot be written fails: nothing is shown unaudited.
    public func read<T: Sendable>(
        of id: String, action: String = "read", by caller: Caller, on store: Store, directory: CustomerDirectory,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        let entries = directory.readAccess(of: id, action: action, caller: caller)
        guard !entries.isEmpty else { return try await store.read(body) }
        let now = directory.nowMilliseconds
        return try await withCheckedThrowingContinuation { continuation in
            let join = ReadAndRow(continuation)
            record(AuditLog.Record(entries: entries, caller: caller, atMilliseconds: now)) { join.recorded($0) }
            store.read(body) { join.answered($0) }
        }
    }

    /// Writes a read's row, with whatever other rows wait, and calls `completion` on the writer's
    /// thread once they have committed (or failed: a failed write fails every row in it).
    private func record(_ row: AuditLog.Record, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        guard waiting.add(row, completion) else { return }  // A write already queued takes this row too.
        let taken = WaitingRows.Taken()
        store.write({ [waiting] db in
            let rows = taken.take(from: waiting)
            try AuditLog.append(rows.map(\.row), to: .access, db)
        }) { [waiting] result in
            // If the write never ran (the store closed), the rows are still waiting.
            let rows = taken.take(from: waiting)
            for row in rows { row.completion(result) }
        }
    }

    func verify() async throws -> AuditLog.Verification {
        try await store.read { db in try AuditLog.verify(db, chain: .access) }
    }
}

/// A read and the write of its access row, running at once: whichever finishes last answers the
/// caller, with the read's answer only if the row committed, and with the read's own error if it
/// failed (it showed nothing).
private final class ReadAndRow<T: Sendable>: Sendable {
    private struct State {
        var answer: Result<T, any Error>?
        var row: Result<Void, any Error>?
    }

    private let state = Mutex(State())
    private let continuation: CheckedContinuation<T, any Error>

    init(_ continuation: CheckedContinuation<T, any Error>) { self.continuation = continuation }

    func answered(_ answer: Result<T, any Error>) { finish { $0.answer = answer } }

    func recorded(_ row: Result<Void, any Error>) { finish { $0.row = row } }

    private func finish(_ update: (inout State) -> Void) {
        let outcome: Result<T, any Error>? = state.withLock { state in
            update(&state)
            guard let answer = state.answer, let row = state.row else { return nil }
            if case .failure = answer { return answer }
            if case .failure(let error) = row { return .failure(error) }
            return answer
        }
        if let outcome { continuation.resume(with: outcome) }
    }
}

/// The access rows not yet handed to a write of the access log's store.
private final class WaitingRows: Sendable {
    struct Row: Sendable {
        var row: AuditLog.Record
        var completion: @Sendable (Result<Void, any Error>) -> Void
    }

    private let rows = Mutex<[Row]>([])

    /// Adds a row; true if no write is queued for the waiting rows yet, so the caller must queue one.
    func add(_ row: AuditLog.Record, _ completion: @escaping @Sendable (Result<Void, any Error>) -> Void) -> Bool {
        rows.withLock { rows in
            rows.append(Row(row: row, completion: completion))
            return rows.count == 1
        }
    }

    /// The rows one write took: all that waited when it ran, kept for its completion.
    final class Taken: Sendable {
        private let rows = Mutex<[Row]?>(nil)

        /// The rows of this write, taking the waiting ones on the first call.
        func take(from waiting: WaitingRows) -> [Row] {
            rows.withLock { taken in
                if let taken { return taken }
                let all = waiting.rows.withLock { rows in
                    defer { rows = [] }
                    return rows
                }
                taken = all
                return all
            }
        }
    }
}
