internal import GRDB
internal import WireProtocol
internal import CRMAPI

extension CustomerSchema {
    /// Migration `customer-2-merges`.
    static func merges(_ db: Database) throws {
        // before_image: CustomerImage of both customers before the merge; after_digest: the
        // SHA-256 of their image right after it, which must still match for an unmerge.
        try db.execute(
            sql: """
                CREATE TABLE customer_merge (
                    merge_id INTEGER PRIMARY KEY AUTOINCREMENT,
                    survivor_key INTEGER NOT NULL REFERENCES customer (key),
                    merged_key INTEGER NOT NULL REFERENCES customer (key),
                    reason TEXT NOT NULL,
                    before_image BLOB NOT NULL,
                    after_digest BLOB NOT NULL,
                    merged_at_ms INTEGER NOT NULL,
                    unmerged_at_ms INTEGER
                );
                CREATE INDEX customer_merge_survivor ON customer_merge (survivor_key);
                CREATE INDEX customer_merge_merged ON customer_merge (merged_key);
                -- The single customer view lists the records merged into a customer.
                CREATE INDEX customer_merged_into ON customer (merged_into);
                """)
    }
}
