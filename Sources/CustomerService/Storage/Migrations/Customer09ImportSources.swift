internal import GRDB
internal import WireProtocol
internal import CRMAPI

extension CustomerSchema {
    /// Migration `customer-9-import-sources`.
    static func importSources(_ db: Database) throws {
        try db.execute(
            sql: """
                -- Which migrated record created which customer, and the SHA-256 of its row.
                CREATE TABLE import_source (
                    source_system TEXT NOT NULL,
                    source_id TEXT NOT NULL,
                    customer_key INTEGER NOT NULL REFERENCES customer (key),
                    row_digest BLOB NOT NULL,
                    imported_at_ms INTEGER NOT NULL,
                    PRIMARY KEY (source_system, source_id)
                ) WITHOUT ROWID;
                CREATE INDEX import_source_customer ON import_source (customer_key);
                """)
    }
}
