internal import GRDB
internal import WireProtocol
internal import CRMAPI

extension CustomerSchema {
    /// Migration `customer-1-master-data`.
    static func masterData(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE customer (
                    key INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind INTEGER NOT NULL,
                    status INTEGER NOT NULL,
                    version INTEGER NOT NULL,
                    display_name TEXT NOT NULL,
                    -- Lower-cased, space-free names for prefix search.
                    name_zh_key TEXT NOT NULL,
                    name_latin_key TEXT NOT NULL,
                    name_zh TEXT NOT NULL,
                    name_latin TEXT NOT NULL,
                    gender INTEGER NOT NULL,
                    birth_date TEXT NOT NULL,
                    nationality TEXT NOT NULL,
                    occupation TEXT NOT NULL,
                    income_band INTEGER NOT NULL,
                    legal_name TEXT NOT NULL,
                    registration_number TEXT NOT NULL,
                    industry TEXT NOT NULL,
                    company_size INTEGER NOT NULL,
                    legal_representative TEXT NOT NULL,
                    preferred_channel INTEGER NOT NULL,
                    relationship_manager_id TEXT NOT NULL,
                    branch_id TEXT NOT NULL,
                    value_grade INTEGER NOT NULL DEFAULT 0,
                    credit_grade TEXT NOT NULL DEFAULT '',
                    lifecycle_stage INTEGER NOT NULL,
                    merged_into INTEGER REFERENCES customer (key),
                    created_at_ms INTEGER NOT NULL,
                    updated_at_ms INTEGER NOT NULL
                );
                CREATE INDEX customer_name_zh ON customer (name_zh_key);
                CREATE INDEX customer_name_latin ON customer (name_latin_key);
                CREATE INDEX customer_name_birth ON customer (name_zh_key, birth_date);
                CREATE INDEX customer_latin_birth ON customer (name_latin_key, birth_date);
                CREATE INDEX customer_legal_name ON customer (legal_name);
                CREATE INDEX customer_registration ON customer (registration_number);
                CREATE INDEX customer_rm ON customer (relationship_manager_id, key);
                CREATE INDEX customer_branch ON customer (branch_id, key);
                CREATE INDEX customer_grade ON customer (value_grade, key);

                -- live is 1 while the customer is not merged away or erased: a document number is
                -- unique per type among live customers only.
                CREATE TABLE customer_document (
                    key INTEGER PRIMARY KEY AUTOINCREMENT,
                    customer_key INTEGER NOT NULL REFERENCES customer (key),
                    position INTEGER NOT NULL,
                    type INTEGER NOT NULL,
                    number TEXT NOT NULL,
                    issuing_country TEXT NOT NULL,
                    expiry_date TEXT NOT NULL,
                    live INTEGER NOT NULL
                );
                CREATE UNIQUE INDEX customer_document_live ON customer_document (type, number) WHERE live = 1;
                CREATE INDEX customer_document_number ON customer_document (number);
                CREATE INDEX customer_document_customer ON customer_document (customer_key, position);

                CREATE TABLE customer_contact (
                    key INTEGER PRIMARY KEY AUTOINCREMENT,
                    customer_key INTEGER NOT NULL REFERENCES customer (key),
                    position INTEGER NOT NULL,
                    kind INTEGER NOT NULL,
                    value TEXT NOT NULL,
                    label TEXT NOT NULL,
                    is_primary INTEGER NOT NULL,
                    line1 TEXT NOT NULL,
                    line2 TEXT NOT NULL,
                    city TEXT NOT NULL,
                    province TEXT NOT NULL,
                    postal_code TEXT NOT NULL,
                    country TEXT NOT NULL
                );
                CREATE INDEX customer_contact_value ON customer_contact (kind, value);
                CREATE INDEX customer_contact_customer ON customer_contact (customer_key, position);
                """)
        try AuditLog.createTables(db)
    }
}
