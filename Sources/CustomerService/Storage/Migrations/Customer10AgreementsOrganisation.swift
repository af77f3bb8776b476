internal import GRDB
internal import WireProtocol
internal import CRMAPI

extension CustomerSchema {
    /// Migration `customer-10-agreements-organisation`.
    static func agreementsOrganisation(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE service_agreement (
                    agreement_number TEXT PRIMARY KEY,
                    customer_key INTEGER NOT NULL REFERENCES customer (key),
                    kind INTEGER NOT NULL,
                    signed_on TEXT NOT NULL,
                    valid_from TEXT NOT NULL,
                    valid_until TEXT NOT NULL,
                    terminated_on TEXT NOT NULL,
                    changed_at_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX service_agreement_customer ON service_agreement (customer_key, signed_on);

                CREATE TABLE org_unit (
                    unit_id TEXT PRIMARY KEY,
                    kind INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    parent_id TEXT REFERENCES org_unit (unit_id),
                    closed INTEGER NOT NULL,
                    changed_at_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX org_unit_parent ON org_unit (parent_id);
                CREATE TABLE relationship_manager (
                    rm_id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    unit_id TEXT NOT NULL REFERENCES org_unit (unit_id),
                    departed INTEGER NOT NULL,
                    changed_at_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX relationship_manager_unit ON relationship_manager (unit_id);

                -- Each customer's managers and branches over time; until_ms is NULL for the current one.
                CREATE TABLE rm_assignment (
                    assignment_id INTEGER PRIMARY KEY AUTOINCREMENT,
                    customer_key INTEGER NOT NULL REFERENCES customer (key),
                    rm_id TEXT NOT NULL,
                    branch_id TEXT NOT NULL,
                    from_ms INTEGER NOT NULL,
                    until_ms INTEGER,
                    reason TEXT NOT NULL,
                    assigned_by TEXT NOT NULL
                );
                CREATE INDEX rm_assignment_customer ON rm_assignment (customer_key, assignment_id);
                -- The placement customers had before history was kept.
                INSERT INTO rm_assignment (customer_key, rm_id, branch_id, from_ms, reason, assigned_by)
                    SELECT key, relationship_manager_id, branch_id, updated_at_ms, 'before assignment history', 'migration'
                    FROM customer WHERE relationship_manager_id != '' OR branch_id != '';
                """)
    }
}
