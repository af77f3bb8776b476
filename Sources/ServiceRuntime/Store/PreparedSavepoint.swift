internal import GRDB

/// A named savepoint whose statements are prepared once per connection. GRDB's `inSavepoint`
/// prepares them again on every call: 7% of the access log's writer (the history of docs/BENCHMARKS.md, "The
/// view's reads without sorts or re-prepared transactions") and a tenth of a mirror's feed consumer
/// ("The update workload measured updates and reads").
struct PreparedSavepoint: Sendable {
    private let begin: String
    private let release: String
    private let rollback: String

    init(_ name: String) {
        begin = "SAVEPOINT \(name)"
        release = "RELEASE SAVEPOINT \(name)"
        rollback = "ROLLBACK TRANSACTION TO SAVEPOINT \(name)"
    }

    /// Runs `body` in the savepoint, inside the current transaction. If it throws, its changes alone
    /// are undone, unless SQLite has already ended the whole transaction; the error is rethrown.
    func run<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.cachedStatement(sql: begin).execute()
        do {
            let value = try body()
            try db.cachedStatement(sql: release).execute()
            return value
        } catch {
            if db.isInsideTransaction {
                do {
                    try db.cachedStatement(sql: rollback).execute()
                    try db.cachedStatement(sql: release).execute()
                } catch {
                    try? db.cachedStatement(sql: "ROLLBACK").execute()
                }
            }
            throw error
        }
    }
}
