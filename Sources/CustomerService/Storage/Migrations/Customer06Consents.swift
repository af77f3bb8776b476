internal import GRDB
internal import WireProtocol
internal import CRMAPI

extension CustomerSchema {
    /// Migration `customer-6-consents`.
    static func consents(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE consent_event (
                    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
                    customer_key INTEGER NOT NULL REFERENCES customer (key),
                    channel INTEGER NOT NULL,
                    purpose INTEGER NOT NULL,
                    granted INTEGER NOT NULL,
                    source TEXT NOT NULL,
                    at_ms INTEGER NOT NULL,
                    recorded_at_ms INTEGER NOT NULL
                );
                CREATE INDEX consent_event_customer ON consent_event (customer_key, channel, purpose, at_ms, event_id);
                """)
    }
}
