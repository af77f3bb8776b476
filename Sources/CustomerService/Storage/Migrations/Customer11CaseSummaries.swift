internal import GRDB
internal import WireProtocol
internal import CRMAPI

extension CustomerSchema {
    /// Migration `customer-11-case-summaries`.
    static func caseSummaries(_ db: Database) throws {
        try db.execute(
            sql: """
                -- The customer's ServiceDesk cases as their latest event showed them (the
                -- servicedesk feed); a case re-keyed to another customer moves with its event.
                CREATE TABLE case_summary (
                    case_id TEXT PRIMARY KEY,
                    customer_key INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    category TEXT NOT NULL,
                    status TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    opened_at_ms INTEGER NOT NULL,
                    resolved_at_ms INTEGER NOT NULL,
                    escalation_level INTEGER NOT NULL,
                    sla_breached INTEGER NOT NULL,
                    finished INTEGER NOT NULL,
                    updated_at_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX case_summary_customer ON case_summary (customer_key, finished, updated_at_ms);
                """)
    }
}
