internal import GRDB
internal import WireProtocol
internal import CRMAPI

extension CustomerSchema {
    /// Migration `customer-15-pinyin`.
    static func pinyin(_ db: Database) throws {
        // Pinyin of Chinese names (Pinyin, ICU's Han-Latin transform for names), for prefix and
        // exact search, and in the name variants for fuzzy search.
        try db.execute(
            sql: """
                ALTER TABLE customer ADD COLUMN name_pinyin_key TEXT NOT NULL DEFAULT '';
                ALTER TABLE customer ADD COLUMN name_initials_key TEXT NOT NULL DEFAULT '';
                """)
        // The keys first: the refresh writes the rows a cursor would still be reading.
        let corporate = Crm_Customer_V1_CustomerKind.corporate.rawValue
        let keys = try Int64.fetchAll(
            db, sql: "SELECT key FROM customer WHERE CASE kind WHEN ? THEN legal_name ELSE name_zh END > ''", arguments: [corporate])
        for key in keys { try CustomerRecords.refreshNameSearch(key: key, db) }
        try db.execute(
            sql: """
                CREATE INDEX customer_name_pinyin ON customer (name_pinyin_key);
                CREATE INDEX customer_name_initials ON customer (name_initials_key);
                """)
    }
}
