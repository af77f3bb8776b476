internal import GRDB
internal import WireProtocol
internal import CRMAPI

extension CustomerSchema {
    /// Migration `customer-13-view-order-indexes`.
    static func viewOrderIndexes(_ db: Database) throws {
        // Indexes in the order the single customer view lists rows, so that its queries read
        // them in order instead of sorting them in a temporary B-tree (the history of docs/BENCHMARKS.md, "The
        // view's reads without sorts or re-prepared transactions"); each keeps the columns of
        // the index it replaces as its prefix.
        try db.execute(
            sql: """
                DROP INDEX service_agreement_customer;
                CREATE INDEX service_agreement_customer ON service_agreement (customer_key, signed_on DESC, agreement_number);
                DROP INDEX case_summary_customer;
                CREATE INDEX case_summary_customer ON case_summary (customer_key, finished, updated_at_ms DESC, case_id DESC);
                DROP INDEX opportunity_summary_customer;
                CREATE INDEX opportunity_summary_customer
                    ON opportunity_summary (customer_key, closed, updated_at_ms DESC, opportunity_id DESC);
                DROP INDEX household_member_household;
                CREATE INDEX household_member_household ON household_member (household_key, role);
                """)
    }
}
