internal import Foundation
internal import GRDB
internal import Synchronization

/// Group commit: writes that arrive while the writer is busy wait in a queue, and the writer runs
/// everything queued in one transaction, each write in its own savepoint, then commits once. One
/// commit (one WAL append and, with `synchronous=FULL`, one fsync) then serves many requests.
///
/// Each write still gets its own result: a write that throws is rolled back to its savepoint and
/// fails alone; the others commit. No write's caller hears of success before the shared COMMIT has
/// returned, so nothing acknowledged can be lost. If SQLite rolls the whole transaction back (an
/// I/O error, a full disk), every write of the group that had succeeded fails with that error.
///
/// An idle writer starts at once (no timer, no added latency): groups form only under load, from
/// the writes that queued while the previous group ran.
final class GroupCommit: Sendable {
    /// The most writes in one transaction; the rest wait for the next.
    let maximumGroupSize: Int
    private let pool: DatabasePool
    private let state = Mutex(State())

    private struct State {
        var queue: [any GroupedWrite] = []
        var draining = false
    }

    init(pool: DatabasePool, maximumGroupSize: Int = 256) {
        self.pool = pool
        self.maximumGroupSize = maximumGroupSize
    }

    func write<T: Sendable>(
        onStart: (@Sendable () -> Void)?, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(onStart: onStart, body) { continuation.resume(with: $0) }
        }
    }

    /// Queues a write without waiting for it: `completion` runs on the writer's thread once the
    /// write's group has committed (or with the write's failure). It must be quick.
    func enqueue<T: Sendable>(
        onStart: (@Sendable () -> Void)?, _ body: @escaping @Sendable (Database) throws -> T,
        completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        let write = PendingWrite(body: body, onStart: onStart, completion: completion)
        let start = state.withLock { state in
            state.queue.append(write)
            defer { state.draining = true }
            return !state.draining
        }
        if start { scheduleDrain() }
    }

    private func scheduleDrain() {
        pool.asyncWriteWithoutTransaction { db in self.drain(db) }
    }

    /// Runs one group on the writer, then hands the writer back (so that other users of the
    /// writer, such as the readiness probe, get their turn) and schedules the next group if more
    /// writes queued meanwhile.
    private func drain(_ db: Database) {
        let group = state.withLock { state in
            let group = Array(state.queue.prefix(maximumGroupSize))
            state.queue.removeFirst(group.count)
            return group
        }
        Self.run(group, db)
        let more = state.withLock { state in
            if state.queue.isEmpty { state.draining = false }
            return !state.queue.isEmpty
        }
        if more { scheduleDrain() }
    }

    private static func run(_ group: [any GroupedWrite], _ db: Database) {
        var next = 0
        while next < group.count {
            // One transaction for as many of the group as SQLite lets through; a write that makes
            // SQLite abandon the transaction ends it, and the rest go on in a new one.
            let first = next
            do {
                try db.cachedStatement(sql: "BEGIN IMMEDIATE").execute()
            } catch {
                for write in group[first...] { write.finish(failure: error) }
                return
            }
            var abandoned: (any Error)?
            while next < group.count, abandoned == nil {
                let write = group[next]
                next += 1
                write.run(db)
                if !db.isInsideTransaction {
                    abandoned = write.failure ?? StoreError(message: "the transaction was rolled back")
                }
            }
            if let abandoned {
                // The writes before this one were rolled back with the transaction: those that had
                // succeeded fail with it, those that had failed keep their own error.
                for write in group[first..<next - 1] { write.finish(failure: write.failure == nil ? abandoned : nil) }
                group[next - 1].finish(failure: abandoned)
                continue
            }
            do {
                try db.cachedStatement(sql: "COMMIT").execute()
                for write in group[first..<next] { write.finish(failure: nil) }
            } catch {
                try? db.cachedStatement(sql: "ROLLBACK").execute()
                for write in group[first..<next] { write.finish(failure: error) }
            }
        }
    }
}

/// A write waiting in ``GroupCommit``'s queue. Touched only on the writer's queue after it is
/// enqueued, so its mutable state needs no lock.
private protocol GroupedWrite: AnyObject, Sendable {
    /// The write's own error, once it ran and failed.
    var failure: (any Error)? { get }
    /// Runs the write in a savepoint of the current transaction.
    func run(_ db: Database)
    /// Answers the caller: the write's own outcome if `failure` is nil (the group committed),
    /// otherwise that failure.
    func finish(failure: (any Error)?)
}

/// Each grouped write's savepoint.
private let writeSavepoint = PreparedSavepoint("grouped_write")

private final class PendingWrite<T: Sendable>: GroupedWrite, @unchecked Sendable {
    private let body: @Sendable (Database) throws -> T
    private let onStart: (@Sendable () -> Void)?
    private let completion: @Sendable (Result<T, any Error>) -> Void
    private var outcome: Result<T, any Error>?

    init(
        body: @escaping @Sendable (Database) throws -> T, onStart: (@Sendable () -> Void)?,
        completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        self.body = body
        self.onStart = onStart
        self.completion = completion
    }

    var failure: (any Error)? {
        if case .failure(let error) = outcome { return error }
        return nil
    }

    /// Runs the write in its own savepoint: one that throws is undone alone.
    func run(_ db: Database) {
        onStart?()
        do {
            outcome = .success(try writeSavepoint.run(db) { try body(db) })
        } catch {
            outcome = .failure(error)
        }
    }

    func finish(failure: (any Error)?) {
        if let failure {
            completion(.failure(failure))
        } else {
            completion(outcome ?? .failure(StoreError(message: "the write did not run")))
        }
    }
}
