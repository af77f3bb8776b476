internal import GRDB

extension ServiceDeskSchema {
    /// Migration `servicedesk-4-category-tree`.
    static func categoryTree(_ db: Database) throws {
        try db.execute(
            sql: """
                -- The managed category tree; empty means any well-formed path is accepted.
                CREATE TABLE case_category (
                    path TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    retired INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
    }
}
