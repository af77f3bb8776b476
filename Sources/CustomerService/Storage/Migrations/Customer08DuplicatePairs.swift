internal import GRDB
internal import WireProtocol
internal import CRMAPI

extension CustomerSchema {
    /// Migration `customer-8-duplicate-pairs`.
    static func duplicatePairs(_ db: Database) throws {
        try db.execute(
            sql: """
                -- Duplicate signals compare everyone born on the same day.
                CREATE INDEX customer_birth_date ON customer (birth_date);
                DROP INDEX customer_name_birth;
                DROP INDEX customer_latin_birth;
                -- Pairs the batch duplicate job found; first_key < second_key. reasons: one per line.
                CREATE TABLE duplicate_pair (
                    pair_id INTEGER PRIMARY KEY AUTOINCREMENT,
                    first_key INTEGER NOT NULL REFERENCES customer (key),
                    second_key INTEGER NOT NULL REFERENCES customer (key),
                    score INTEGER NOT NULL,
                    reasons TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    found_at_ms INTEGER NOT NULL,
                    updated_at_ms INTEGER NOT NULL,
                    dismissed_reason TEXT NOT NULL DEFAULT '',
                    CHECK (first_key < second_key),
                    UNIQUE (first_key, second_key)
                );
                CREATE INDEX duplicate_pair_status ON duplicate_pair (status, pair_id);
                """)
    }
}
