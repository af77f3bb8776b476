internal import GRDB
internal import WireProtocol
internal import CRMAPI

extension CustomerSchema {
    /// Migration `customer-12-opportunity-summaries-and-sourced-interactions`.
    static func opportunitySummariesAndSourcedInteractions(_ db: Database) throws {
        try db.execute(
            sql: """
                -- The customer's Marketing opportunities as their latest event showed them.
                CREATE TABLE opportunity_summary (
                    opportunity_id TEXT PRIMARY KEY,
                    customer_key INTEGER NOT NULL,
                    product TEXT NOT NULL,
                    stage TEXT NOT NULL,
                    amount_minor INTEGER NOT NULL,
                    currency TEXT NOT NULL,
                    owner_rm_id TEXT NOT NULL,
                    expected_close_date TEXT NOT NULL,
                    closed INTEGER NOT NULL,
                    updated_at_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX opportunity_summary_customer ON opportunity_summary (customer_key, closed, updated_at_ms);

                -- Contact history written from another service's event names that event
                -- ("servicedesk:K0000000001:case.opened"), so that a replay adds nothing.
                ALTER TABLE interaction ADD COLUMN source TEXT;
                CREATE UNIQUE INDEX interaction_source ON interaction (source) WHERE source IS NOT NULL;
                """)
    }
}
