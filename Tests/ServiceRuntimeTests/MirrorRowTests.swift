import Foundation
import GRDB
import ServiceRuntime
import Testing

/// `MirrorRow` writes a mirrored entity touching only the columns that changed.
@Suite("Mirror rows")
struct MirrorRowTests {
    /// A mirror table with an index, and a trigger that records every UPDATE naming `branch_id` in
    /// its SET list: SQLite rewrites the index entry of exactly those.
    func makeStore() throws -> Store {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("test-mirror") { db in
            try db.execute(
                sql: """
                    CREATE TABLE mirror (id TEXT PRIMARY KEY, branch_id TEXT NOT NULL, email TEXT, payload BLOB NOT NULL) WITHOUT ROWID;
                    CREATE INDEX mirror_branch ON mirror (branch_id);
                    CREATE TABLE branch_rewrites (id TEXT NOT NULL);
                    CREATE TRIGGER mirror_branch_set AFTER UPDATE OF branch_id ON mirror BEGIN
                        INSERT INTO branch_rewrites (id) VALUES (new.id);
                    END;
                    """)
        }
        return try Store(configuration: .init(path: try StoreTests.temporaryPath()), migrator: migrator, logger: testLogger)
    }

    func write(_ store: Store, branch: String, email: String?, payload: [UInt8]) async throws -> Bool {
        try await store.write { db in
            let previous = try MirrorRow.fetch("mirror", keyColumn: "id", key: "C1", db)
            return try MirrorRow.write(
                "mirror", keyColumn: "id", key: "C1", values: ["branch_id": branch, "email": email, "payload": Data(payload)],
                previous: previous, db)
        }
    }

    func state(_ store: Store) async throws -> (row: [String], branchRewrites: Int) {
        try await store.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT branch_id, coalesce(email, 'NULL'), hex(payload) FROM mirror WHERE id = 'C1'")!
            return ([row[0], row[1], row[2]], try Int.fetchOne(db, sql: "SELECT count(*) FROM branch_rewrites")!)
        }
    }

    @Test("a new row is inserted; the same values again write nothing; a change sets only the changed columns; NULL counts as a value")
    func writesOnlyChanges() async throws {
        let store = try makeStore()
        #expect(try await write(store, branch: "B1", email: "a@example.com", payload: [1]))
        #expect(try await state(store) == (["B1", "a@example.com", "01"], 0))

        #expect(try await write(store, branch: "B1", email: "a@example.com", payload: [1]) == false)

        #expect(try await write(store, branch: "B1", email: "b@example.com", payload: [2]))
        #expect(try await state(store) == (["B1", "b@example.com", "02"], 0), "the branch was not set: its index entry stays")

        #expect(try await write(store, branch: "B2", email: nil, payload: [2]))
        #expect(try await state(store) == (["B2", "NULL", "02"], 1))

        #expect(try await write(store, branch: "B2", email: nil, payload: [2]) == false)
        #expect(try await write(store, branch: "B2", email: "c@example.com", payload: [2]))
        #expect(try await state(store) == (["B2", "c@example.com", "02"], 1))
    }
}
