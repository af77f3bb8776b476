internal import GRDB

extension ServiceDeskSchema {
    /// Migration `servicedesk-2-customer-mirror`.
    static func customerMirror(_ db: Database) throws {
        try db.execute(
            sql: """
                -- What ServiceDesk knows of each customer, from the customer feed: the latest
                -- CustomerChanged payload, with the columns cases are checked and targeted by.
                CREATE TABLE customer_mirror (
                    customer_id TEXT PRIMARY KEY,
                    status INTEGER NOT NULL,
                    value_grade INTEGER NOT NULL,
                    branch_id TEXT NOT NULL,
                    merged_into_id TEXT NOT NULL,
                    payload BLOB NOT NULL,
                    updated_at_ms INTEGER NOT NULL
                ) WITHOUT ROWID;

                -- Cases moved to the survivor when their customer was merged away; undone_at_ms
                -- is set when an unmerge moved them back. Never deleted.
                CREATE TABLE case_rekey (
                    key INTEGER PRIMARY KEY AUTOINCREMENT,
                    case_key INTEGER NOT NULL REFERENCES service_case (key),
                    from_customer_id TEXT NOT NULL,
                    to_customer_id TEXT NOT NULL,
                    at_ms INTEGER NOT NULL,
                    undone_at_ms INTEGER
                );
                CREATE INDEX case_rekey_open ON case_rekey (from_customer_id) WHERE undone_at_ms IS NULL;
                """)
    }
}
