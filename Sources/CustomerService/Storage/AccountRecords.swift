internal import GRDB
internal import ServiceRuntime
internal import WireProtocol
internal import CRMAPI

/// Reads and writes accounts, holders and interactions inside the caller's transaction.
enum AccountRecords {
    /// One customer's holding of an account, or nil if the customer does not hold it.
    static func load(_ accountNumber: String, customerKey: Int64, _ db: Database) throws -> Crm_Customer_V1_AccountHolding? {
        try StatementRow.readFirst(
            db.cachedStatement(
            sql: """
                SELECT a.*, h.role, h.customer_key FROM account a
                JOIN account_holder h ON h.account_number = a.account_number AND h.customer_key = ?
                WHERE a.account_number = ?
                """),
            arguments: [customerKey, accountNumber], holding)
    }

    /// Every account a customer holds, open ones first, then by account number.
    static func holdings(customerKey: Int64, _ db: Database) throws -> [Crm_Customer_V1_AccountHolding] {
        // In account number order as account_holder's primary key has them, then the closed ones
        // moved after the open ones here: ordering by closed_on in SQL sorts in a temporary B-tree.
        let byNumber = try StatementRow.readAll(
            db.cachedStatement(
            sql: """
                SELECT a.*, h.role, h.customer_key FROM account_holder h JOIN account a ON a.account_number = h.account_number
                WHERE h.customer_key = ? ORDER BY h.account_number
                """),
            arguments: [customerKey], holding)
        return byNumber.filter { $0.closedOn.isEmpty } + byNumber.filter { !$0.closedOn.isEmpty }
    }

    static func upsertAccount(_ holding: Crm_Customer_V1_AccountHolding, changedAt: Int64, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO account (account_number, product_type, balance_minor, currency, reporting_balance_minor, opened_on,
                    closed_on, maturity_date, monthly_contribution_minor, changed_at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (account_number) DO UPDATE SET product_type = excluded.product_type,
                    balance_minor = excluded.balance_minor, currency = excluded.currency,
                    reporting_balance_minor = excluded.reporting_balance_minor, opened_on = excluded.opened_on,
                    closed_on = excluded.closed_on, maturity_date = excluded.maturity_date,
                    monthly_contribution_minor = excluded.monthly_contribution_minor, changed_at_ms = excluded.changed_at_ms
                """).execute(arguments: [
                holding.accountNumber, holding.productType.rawValue, holding.balanceMinor, holding.currency,
                holding.reportingBalanceMinor, holding.openedOn, holding.closedOn, holding.maturityDate,
                holding.monthlyContributionMinor, changedAt,
            ])
    }

    private static func holding(_ row: StatementRow) -> Crm_Customer_V1_AccountHolding {
        var holding = Crm_Customer_V1_AccountHolding()
        holding.accountNumber = row["account_number"]
        holding.customerID = CustomerRecords.customerID(row["customer_key"])
        holding.productType = .init(rawValue: row["product_type"]) ?? .unspecified
        holding.role = .init(rawValue: row["role"]) ?? .unspecified
        holding.balanceMinor = row["balance_minor"]
        holding.currency = row["currency"]
        holding.reportingBalanceMinor = row["reporting_balance_minor"]
        holding.openedOn = row["opened_on"]
        holding.closedOn = row["closed_on"]
        holding.maturityDate = row["maturity_date"]
        holding.monthlyContributionMinor = row["monthly_contribution_minor"]
        return holding
    }

    /// A customer's interactions with ids below `beforeID`, newest first.
    static func interactions(customerKey: Int64, beforeID: Int64, limit: Int, _ db: Database) throws -> [Crm_Customer_V1_Interaction] {
        try StatementRow.readAll(
            db.cachedStatement(
            sql: "SELECT * FROM interaction WHERE customer_key = ? AND interaction_id < ? ORDER BY interaction_id DESC LIMIT ?"),
            arguments: [customerKey, beforeID, limit]
        ) { row in
            var interaction = Crm_Customer_V1_Interaction()
            interaction.interactionID = row["interaction_id"]
            interaction.customerID = CustomerRecords.customerID(row["customer_key"])
            interaction.channel = .init(rawValue: row["channel"]) ?? .unspecified
            interaction.subject = row["subject"]
            interaction.outcome = row["outcome"]
            interaction.handledBy = row["handled_by"]
            interaction.at.milliseconds = row["at_ms"]
            return interaction
        }
    }
}
