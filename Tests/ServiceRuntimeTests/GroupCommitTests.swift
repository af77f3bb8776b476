import Foundation
import GRDB
import ServiceRuntime
import Synchronization
import Testing

/// `Store.write` commits concurrent writes together (group commit) while each keeps its own result.
@Suite("Group commit")
struct GroupCommitTests {
    static var itemsMigrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("test-1-items") { db in
            try db.execute(sql: "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
        }
        return migrator
    }

    /// Counts the commits of a database connection.
    final class CommitCounter: TransactionObserver, Sendable {
        let commits = Atomic(0)
        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { true }
        func databaseDidChange(with event: DatabaseEvent) {}
        func databaseDidCommit(_ db: Database) { commits.add(1, ordering: .relaxed) }
        func databaseDidRollback(_ db: Database) {}
    }

    /// How many writes the test has started (a class, so that tasks can share it).
    final class Started: Sendable {
        let value = Atomic(0)
        func add() { value.add(1, ordering: .relaxed) }
        var count: Int { value.load(ordering: .relaxed) }
    }

    struct Refused: Error, Equatable { var index: Int }

    /// Holds the writer inside a first write until `release()`, so that the writes started meanwhile
    /// queue up behind it.
    final class Gate: Sendable {
        let entered = DispatchSemaphore(value: 0)
        let opened = DispatchSemaphore(value: 0)
        func release() { opened.signal() }
    }

    private func blockWriter(_ store: Store) async throws -> (Gate, Task<Void, any Error>) {
        let gate = Gate()
        let first = Task {
            try await store.write { db in
                gate.entered.signal()
                gate.opened.wait()
                try db.execute(sql: "INSERT INTO item (name) VALUES ('first')")
            }
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                gate.entered.wait()
                continuation.resume()
            }
        }
        return (gate, first)
    }

    /// Waits until the store's writer queue holds `count` writes (they are started as tasks, so
    /// their order of arrival is not known in advance).
    private func waitForQueued(_ started: Started, _ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while started.count < count {
            guard ContinuousClock.now < deadline else { Issue.record("only \(started.count) of \(count) writes started"); return }
            try await Task.sleep(for: .milliseconds(5))
        }
        // The last `write` call has been entered; give it a moment to reach the queue.
        try await Task.sleep(for: .milliseconds(100))
    }

    @Test("writes queued behind a busy writer share one commit; one that throws is rolled back alone")
    func sharedCommitWithOwnResults() async throws {
        let store = try Store(configuration: .init(path: try StoreTests.temporaryPath()), migrator: Self.itemsMigrator, logger: testLogger)
        let counter = CommitCounter()
        store.pool.add(transactionObserver: counter, extent: .databaseLifetime)
        let (gate, first) = try await blockWriter(store)

        let started = Started()
        let results = Task {
            try await withThrowingTaskGroup(of: (Int, Result<Int64, Refused>).self) { group in
                for index in 0..<50 {
                    group.addTask {
                        started.add()
                        do {
                            let id = try await store.write { db -> Int64 in
                                try db.execute(sql: "INSERT INTO item (name) VALUES (?)", arguments: ["item-\(index)"])
                                if index == 17 { throw Refused(index: index) }
                                return db.lastInsertedRowID
                            }
                            return (index, .success(id))
                        } catch let refused as Refused {
                            return (index, .failure(refused))
                        }
                    }
                }
                var all: [Int: Result<Int64, Refused>] = [:]
                for try await (index, result) in group { all[index] = result }
                return all
            }
        }
        try await waitForQueued(started, 50)
        let commitsBefore = counter.commits.load(ordering: .relaxed)
        gate.release()
        try await first.value
        let all = try await results.value

        #expect(all.count == 50)
        #expect(all[17] == .failure(Refused(index: 17)))
        let ids = all.filter { $0.key != 17 }.compactMap { try? $0.value.get() }
        #expect(ids.count == 49)
        #expect(Set(ids).count == 49, "each write got its own row id")
        let names = try await store.pool.read { db in try String.fetchSet(db, sql: "SELECT name FROM item") }
        #expect(names.count == 50, "first + 49")
        #expect(!names.contains("item-17"))
        // The first write's commit, then the 50 queued writes in one group (the default limit is 256).
        let commits = counter.commits.load(ordering: .relaxed) - commitsBefore
        #expect(commits == 2, "commits after the gate opened: \(commits)")
    }

    @Test("with a group limit of 1 every write commits on its own")
    func limitOfOne() async throws {
        let store = try Store(
            configuration: .init(path: try StoreTests.temporaryPath(), groupCommitLimit: 1), migrator: Self.itemsMigrator, logger: testLogger)
        let counter = CommitCounter()
        store.pool.add(transactionObserver: counter, extent: .databaseLifetime)
        let (gate, first) = try await blockWriter(store)
        let started = Started()
        let writes = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<10 {
                    group.addTask {
                        started.add()
                        try await store.write { db in try db.execute(sql: "INSERT INTO item (name) VALUES (?)", arguments: ["item-\(index)"]) }
                    }
                }
                try await group.waitForAll()
            }
        }
        try await waitForQueued(started, 10)
        let commitsBefore = counter.commits.load(ordering: .relaxed)
        gate.release()
        try await first.value
        try await writes.value
        #expect(counter.commits.load(ordering: .relaxed) - commitsBefore == 11)
    }

    @Test("when one write makes SQLite abandon the shared transaction, the writes before it fail too and the later ones commit")
    func abandonedTransaction() async throws {
        let store = try Store(configuration: .init(path: try StoreTests.temporaryPath()), migrator: Self.itemsMigrator, logger: testLogger)
        let (gate, first) = try await blockWriter(store)
        // Queued in this order: before, breaker, after.
        let before = Task { try await store.write { db in try db.execute(sql: "INSERT INTO item (name) VALUES ('before')") } }
        try await Task.sleep(for: .milliseconds(200))
        let breaker = Task {
            try await store.write { db in
                try db.execute(sql: "INSERT INTO item (name) VALUES ('breaker')")
                // What SQLite does on an I/O error or a full disk: the whole transaction is gone.
                try db.execute(sql: "ROLLBACK")
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        let after = Task { try await store.write { db in try db.execute(sql: "INSERT INTO item (name) VALUES ('after')") } }
        try await Task.sleep(for: .milliseconds(200))
        gate.release()
        try await first.value
        await #expect(throws: (any Error).self) { try await before.value }
        await #expect(throws: (any Error).self) { try await breaker.value }
        try await after.value
        let names = try await store.pool.read { db in try String.fetchSet(db, sql: "SELECT name FROM item") }
        #expect(names == ["first", "after"])
    }
}
