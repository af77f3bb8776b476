internal import GRDB
internal import WireProtocol
internal import CRMAPI

extension CustomerSchema {
    /// Migration `customer-16-lifecycle-trends`.
    static func lifecycleTrends(_ db: Database) throws {
        // Why a customer is at their stage (Lifecycle), and the daily highs of what they hold,
        // which the churn-risk rule compares today's with.
        try db.execute(
            sql: """
                ALTER TABLE customer ADD COLUMN lifecycle_reason TEXT NOT NULL DEFAULT '';
                CREATE TABLE customer_value_high (
                    customer_key INTEGER NOT NULL,
                    day TEXT NOT NULL,
                    assets_minor INTEGER NOT NULL,
                    contribution_minor INTEGER NOT NULL,
                    PRIMARY KEY (customer_key, day)
                ) WITHOUT ROWID;
                """)
    }
}
