import Foundation
import GRDB
import GRDBSQLite
import ServiceRuntime
import Testing

@Suite("Rows read in place")
struct StatementRowTests {
    static func database() throws -> DatabaseQueue {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT NOT NULL, Nickname TEXT, score REAL NOT NULL, active INTEGER NOT NULL);
                    INSERT INTO person VALUES (1, 'Ada', NULL, 1.5, 1), (2, 'Grace', 'Amazing', 2.5, 0), (3, 'Alan', 'Turing', 3.5, 1);
                    """)
        }
        return queue
    }

    struct Person: Equatable {
        var id: Int64
        var name: String
        var nickname: String?
        var score: Double
        var active: Bool
    }

    static func person(_ row: StatementRow) -> Person {
        Person(id: row["id"], name: row["name"], nickname: row["Nickname"], score: row["score"], active: row["active"])
    }

    @Test("by exact name, by name in another case, by position, NULL into an optional")
    func columns() throws {
        let queue = try Self.database()
        let people = try queue.read { db in
            try StatementRow.readAll(db.cachedStatement(sql: "SELECT * FROM person ORDER BY id"), Self.person)
        }
        #expect(people == [
            Person(id: 1, name: "Ada", nickname: nil, score: 1.5, active: true),
            Person(id: 2, name: "Grace", nickname: "Amazing", score: 2.5, active: false),
            Person(id: 3, name: "Alan", nickname: "Turing", score: 3.5, active: true),
        ])
        let (upper, positional): (String?, String) = try queue.read { db in
            try StatementRow.readFirst(db, sql: "SELECT * FROM person WHERE id = ?", arguments: [2]) { row in
                (row["NICKNAME"], row[1])
            }!
        }
        #expect(upper == "Amazing")
        #expect(positional == "Grace")
    }

    @Test("a cached statement runs again with new arguments; no row is nil")
    func reuse() throws {
        let queue = try Self.database()
        try queue.read { db in
            let statement = try db.cachedStatement(sql: "SELECT name FROM person WHERE id = ?")
            #expect(try StatementRow.readFirst(statement, arguments: [1]) { $0["name"] as String } == "Ada")
            #expect(try StatementRow.readFirst(statement, arguments: [3]) { $0["name"] as String } == "Alan")
            #expect(try StatementRow.readFirst(statement, arguments: [9]) { $0["name"] as String } == nil)
            #expect(try StatementRow.readAll(statement, arguments: [9]) { $0["name"] as String }.isEmpty)
        }
    }

    @Test("statements with other columns, made one after another, never share a column table")
    func freshStatements() throws {
        let queue = try Self.database()
        try queue.read { db in
            // Uncached statements are freed after each read, so a later one may reuse an earlier
            // one's address: each must still find its own columns.
            for round in 0..<200 {
                let columns = round % 2 == 0 ? "name, id" : "id, name"
                let (name, id): (String, Int64) = try StatementRow.readFirst(db, sql: "SELECT \(columns) FROM person WHERE id = 2") { row in
                    (row["name"], row["id"])
                }!
                #expect(name == "Grace")
                #expect(id == 2)
            }
        }
    }

    @Test("reads on four threads at once, through one pool, each statement with its own columns, every time")
    func concurrentThreads() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rows-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = Configuration()
        configuration.maximumReaderCount = 4
        let pool = try DatabasePool(path: folder.appendingPathComponent("rows.sqlite").path, configuration: configuration)
        try await pool.write { db in
            try db.execute(sql: "CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            for id in 1...50 { try db.execute(sql: "INSERT INTO person VALUES (?, ?)", arguments: [id, "p\(id)"]) }
        }
        // Cached statements (one per connection) and fresh ones (freed at once, their addresses
        // reused), with the columns in either order, on whichever thread runs the read.
        let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<4 {
                group.addTask {
                    var mismatches = 0
                    for round in 0..<250 {
                        let id = (task * 250 + round) % 50 + 1
                        let columns = round % 2 == 0 ? "name, id" : "id, name"
                        let cached = round % 3 == 0
                        let (name, readID): (String, Int64) = try pool.read { db in
                            let sql = "SELECT \(columns) FROM person WHERE id = ?"
                            let statement = cached ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
                            return try StatementRow.readFirst(statement, arguments: [id]) { row in (row["name"], row["id"]) }!
                        }
                        if name != "p\(id)" || readID != Int64(id) { mismatches += 1 }
                    }
                    return mismatches
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    @Test("a read that stops at the first row, or fails, leaves its statement reset, holding no read of the database")
    func statementReset() throws {
        let queue = try Self.database()
        try queue.writeWithoutTransaction { db in
            let statement = try db.cachedStatement(sql: "SELECT * FROM person ORDER BY id")
            _ = try StatementRow.readFirst(statement, Self.person)
            #expect(sqlite3_stmt_busy(statement.sqliteStatement) == 0)
            struct Stop: Error {}
            #expect(throws: Stop.self) { try StatementRow.readAll(statement) { _ in throw Stop() } }
            #expect(sqlite3_stmt_busy(statement.sqliteStatement) == 0)
            // And the table's schema can change under the cached statement.
            try db.execute(sql: "ALTER TABLE person ADD COLUMN added TEXT NOT NULL DEFAULT 'new'")
            let added: String? = try StatementRow.readFirst(db.cachedStatement(sql: "SELECT * FROM person ORDER BY id")) { $0["added"] }
            #expect(added == "new")
        }
    }
}
