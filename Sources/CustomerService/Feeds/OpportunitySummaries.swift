public import GRDB
internal import ServiceRuntime
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI

/// Keeps `opportunity_summary` from Marketing's change feed, for the single customer view, and
/// writes a campaign's contacts into the contact history. Opportunity events carry the whole
/// opportunity, so applying one is an upsert, and a re-keyed one moves with its event. Nothing is
/// kept for an erased customer.
public enum OpportunitySummaries {
    public static func apply(_ event: Crm_Feed_V1_ChangeEvent, _ db: Database) throws {
        if event.type == ErasureReports.eventType { return try ErasureReports.apply(event, db) }
        if event.type == "campaign.response" {
            try campaignContact(event, db)
            return
        }
        guard event.type.hasPrefix("opportunity.") else { return }
        let opportunity = try Crm_Marketing_V1_OpportunityChanged(serializedBytes: event.payload).opportunity
        guard let customerKey = try ContactHistory.customerKey(opportunity.customerID, what: "opportunity \(opportunity.id)", db) else {
            try db.cachedStatement(sql: "DELETE FROM opportunity_summary WHERE opportunity_id = ?").execute(arguments: [opportunity.id])
            return
        }
        let stage = name(opportunity.stage)
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO opportunity_summary (opportunity_id, customer_key, product, stage, amount_minor, currency, owner_rm_id,
                    expected_close_date, closed, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            opportunity.id, customerKey, opportunity.product, stage, opportunity.amountMinor, opportunity.currency, opportunity.ownerRmID,
            opportunity.expectedCloseDate, stage == "won" || stage == "lost", event.at.milliseconds,
        ])
    }

    /// A campaign's contact with a customer (not a control member's conversion) into the contact history.
    static func campaignContact(_ event: Crm_Feed_V1_ChangeEvent, _ db: Database) throws {
        let changed = try Crm_Marketing_V1_CampaignChanged(serializedBytes: event.payload)
        guard let customerKey = try ContactHistory.customerKey(changed.customerID, what: "campaign \(changed.campaign.id)", db) else { return }
        let channel: Crm_Customer_V1_InteractionChannel =
            switch changed.campaign.channel {
            case "phone": .call
            case "email": .email
            case "branch": .branch
            case "sms", "digital": .digital
            default: .unspecified
            }
        let response = "\(changed.response)"
        try ContactHistory.record(
            customerKey: customerKey, channel: channel, subject: "campaign \(changed.campaign.id): \(changed.campaign.name)",
            outcome: "\(response) (\(changed.campaign.product))", handledBy: "marketing", atMs: event.at.milliseconds,
            source: "marketing:\(changed.campaign.id):\(changed.customerID):\(event.at.milliseconds):\(response)", db)
    }

    /// The name opportunity_summary stores for a stage (stable text).
    static func name(_ stage: Crm_Marketing_V1_OpportunityStage) -> String {
        switch stage {
        case .lead: "lead"
        case .qualified: "qualified"
        case .proposal: "proposal"
        case .negotiation: "negotiation"
        case .won: "won"
        case .lost: "lost"
        case .unspecified, .UNRECOGNIZED: "unspecified"
        }
    }

    /// The names opportunity_summary stores, back to the enum the view answers with.
    static let stages = Dictionary(uniqueKeysWithValues: Crm_Marketing_V1_OpportunityStage.allCases.map { (name($0), $0) })

    /// The customer's opportunities for the view: open ones latest first, then closed ones; and how many are open.
    static func forView(customerKey: Int64, limit: Int = 20, _ db: Database) throws -> (opportunities: [Crm_Customer_V1_OpportunitySummary], open: Int) {
        let listed = try StatementRow.readAll(
            db.cachedStatement(
                sql: """
                    SELECT opportunity_id, product, stage, amount_minor, currency, owner_rm_id, expected_close_date, updated_at_ms, closed
                    FROM opportunity_summary WHERE customer_key = ? ORDER BY closed, updated_at_ms DESC, opportunity_id DESC LIMIT ?
                    """),
            arguments: [customerKey, limit]
        ) { row -> (summary: Crm_Customer_V1_OpportunitySummary, closed: Bool) in
            var summary = Crm_Customer_V1_OpportunitySummary()
            (summary.opportunityID, summary.product, summary.amountMinor) = (row[0], row[1], row[3])
            summary.opportunityStage = stages[row[2]] ?? .unspecified
            (summary.currency, summary.ownerRmID, summary.expectedCloseDate, summary.updatedAt.milliseconds) = (row[4], row[5], row[6], row[7])
            return (summary, row[8])
        }
        let open = try SummaryCount.unfinished(listed.map(\.closed), limit: limit) {
            try Int.fetchOne(
                db.cachedStatement(sql: "SELECT count(*) FROM opportunity_summary WHERE customer_key = ? AND closed = 0"), arguments: [customerKey]) ?? 0
        }
        return (listed.map(\.summary), open)
    }
}
