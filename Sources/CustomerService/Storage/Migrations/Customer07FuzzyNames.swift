internal import GRDB
internal import WireProtocol
internal import CRMAPI

extension CustomerSchema {
    /// Migration `customer-7-fuzzy-names`.
    static func fuzzyNames(_ db: Database) throws {
        try db.execute(
            sql: """
                -- NameVariants: hashes of each name's search key and its one-deletion forms.
                CREATE TABLE customer_name_variant (
                    variant_hash INTEGER NOT NULL,
                    customer_key INTEGER NOT NULL REFERENCES customer (key),
                    PRIMARY KEY (variant_hash, customer_key)
                ) WITHOUT ROWID;
                CREATE INDEX customer_name_variant_customer ON customer_name_variant (customer_key);
                """)
        let rows = try Row.fetchCursor(db, sql: "SELECT key, name_zh_key, name_latin_key, legal_name FROM customer")
        while let row = try rows.next() {
            try NameVariants.replace(
                customerKey: row["key"], names: [row["name_zh_key"], row["name_latin_key"], CustomerRecords.nameKey(row["legal_name"])], db)
        }
    }
}
