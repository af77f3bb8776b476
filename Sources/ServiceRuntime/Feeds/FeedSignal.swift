internal import GRDB
internal import Synchronization

/// Wakes change feed subscribers when a transaction that appended to `change_log` commits, so live
/// events are pushed on commit rather than polled. Each commit bumps a generation; a subscriber
/// notes the generation before it reads the log and waits for a later one, so no commit between
/// its read and its wait is missed.
final class FeedSignal: TransactionObserver, Sendable {
    private struct State {
        var generation: UInt64 = 0
        var changedInTransaction = false
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    var generation: UInt64 { state.withLock { $0.generation } }

    /// Returns once a commit after `generation` happened; throws CancellationError if the task is
    /// cancelled first.
    func wait(after generation: UInt64) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: (any Error)?? = state.withLock { state in
                    if Task.isCancelled { return .some(CancellationError()) }
                    if state.generation > generation { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let outcome = resumeNow {
                    if let error = outcome { continuation.resume(throwing: error) } else { continuation.resume() }
                }
            }
        } onCancel: {
            let continuation = state.withLock { $0.waiters.removeValue(forKey: id) }
            continuation?.resume(throwing: CancellationError())
        }
    }

    // MARK: TransactionObserver (called on the writer's queue)

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        if case .insert(let table) = eventKind { return table == "change_log" }
        return false
    }

    func databaseDidChange(with event: DatabaseEvent) {
        state.withLock { $0.changedInTransaction = true }
        stopObservingDatabaseChangesUntilNextTransaction()
    }

    func databaseDidCommit(_ db: Database) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard state.changedInTransaction else { return [] }
            state.changedInTransaction = false
            state.generation += 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    func databaseDidRollback(_ db: Database) {
        state.withLock { $0.changedInTransaction = false }
    }
}
