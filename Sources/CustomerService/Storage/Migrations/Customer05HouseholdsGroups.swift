internal import GRDB
internal import WireProtocol
internal import CRMAPI

extension CustomerSchema {
    /// Migration `customer-5-households-groups`.
    static func householdsGroups(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE household (
                    household_key INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    created_at_ms INTEGER NOT NULL
                );
                CREATE TABLE household_member (
                    customer_key INTEGER PRIMARY KEY REFERENCES customer (key),
                    household_key INTEGER NOT NULL REFERENCES household (household_key),
                    role INTEGER NOT NULL
                );
                CREATE INDEX household_member_household ON household_member (household_key);
                CREATE UNIQUE INDEX household_one_head ON household_member (household_key) WHERE role = 1;

                -- customer_key is the subsidiary: a corporate has at most one parent.
                CREATE TABLE corporate_link (
                    customer_key INTEGER PRIMARY KEY REFERENCES customer (key),
                    parent_key INTEGER NOT NULL REFERENCES customer (key),
                    linked_at_ms INTEGER NOT NULL
                );
                CREATE INDEX corporate_link_parent ON corporate_link (parent_key);
                -- customer_key is a group's top parent.
                CREATE TABLE group_credit_limit (
                    customer_key INTEGER PRIMARY KEY REFERENCES customer (key),
                    limit_minor INTEGER NOT NULL,
                    set_at_ms INTEGER NOT NULL
                );
                """)
    }
}
