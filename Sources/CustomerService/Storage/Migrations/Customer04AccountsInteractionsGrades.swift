internal import GRDB
internal import WireProtocol
internal import CRMAPI

extension CustomerSchema {
    /// Migration `customer-4-accounts-interactions-grades`.
    static func accountsInteractionsGrades(_ db: Database) throws {
        try db.execute(
            sql: """
                -- An account as core banking reports it; holders in account_holder.
                CREATE TABLE account (
                    account_number TEXT PRIMARY KEY,
                    product_type INTEGER NOT NULL,
                    balance_minor INTEGER NOT NULL,
                    currency TEXT NOT NULL,
                    reporting_balance_minor INTEGER NOT NULL,
                    opened_on TEXT NOT NULL,
                    closed_on TEXT NOT NULL,
                    maturity_date TEXT NOT NULL,
                    monthly_contribution_minor INTEGER NOT NULL,
                    changed_at_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE account_holder (
                    customer_key INTEGER NOT NULL REFERENCES customer (key),
                    account_number TEXT NOT NULL REFERENCES account (account_number),
                    role INTEGER NOT NULL,
                    PRIMARY KEY (customer_key, account_number)
                ) WITHOUT ROWID;
                CREATE INDEX account_holder_account ON account_holder (account_number);
                CREATE INDEX account_maturity ON account (maturity_date) WHERE maturity_date != '';

                CREATE TABLE interaction (
                    interaction_id INTEGER PRIMARY KEY AUTOINCREMENT,
                    customer_key INTEGER NOT NULL REFERENCES customer (key),
                    channel INTEGER NOT NULL,
                    subject TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    handled_by TEXT NOT NULL,
                    at_ms INTEGER NOT NULL,
                    recorded_at_ms INTEGER NOT NULL
                );
                CREATE INDEX interaction_customer ON interaction (customer_key, interaction_id);

                -- Grade 5 is everyone below grade 4's thresholds. Amounts in CNY fen.
                CREATE TABLE value_grade_rule (
                    grade INTEGER PRIMARY KEY CHECK (grade BETWEEN 1 AND 4),
                    min_assets_minor INTEGER NOT NULL,
                    min_annual_contribution_minor INTEGER NOT NULL
                );
                INSERT INTO value_grade_rule VALUES
                    (1, 600000000, 10000000),
                    (2, 100000000, 3000000),
                    (3, 20000000, 500000),
                    (4, 5000000, 100000);
                ALTER TABLE customer ADD COLUMN credit_grade_source TEXT NOT NULL DEFAULT '';
                """)
    }
}
