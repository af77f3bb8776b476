internal import Foundation
public import GRDB
internal import ServiceRuntime
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI
public import CustomerMirror

/// Marketing's copy of what it needs of other services, kept from their feeds: each customer's
/// latest state (the customer feed) and each case's (the servicedesk feed). Every event carries the
/// whole entity after the change, so applying one is an upsert and applying it again changes
/// nothing; the feed consumer applies it in the transaction that stores its sequence. A merge moves
/// the merged customer's opportunities to the survivor, and an unmerge moves exactly those back.
public struct MarketingMirror: Sendable {
    let pipeline: Pipeline

    public init(pipeline: Pipeline) {
        self.pipeline = pipeline
    }

    /// The apply function for the `customer` producer: customers, and the organisation (units and
    /// RMs) that performance reports roll up.
    public func applyCustomer(_ event: Crm_Feed_V1_ChangeEvent, _ db: Database) throws {
        switch event.type {
        case "org.unit.changed":
            let unit = try Crm_Customer_V1_OrgUnit(serializedBytes: event.payload)
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO org_unit (unit_id, kind, name, parent_id, closed) VALUES (?, ?, ?, ?, ?)").execute(
                arguments: [unit.unitID, unit.kind.rawValue, unit.name, unit.parentID, unit.closed])
            return
        case "org.manager.changed":
            let manager = try Crm_Customer_V1_RelationshipManager(serializedBytes: event.payload)
            try db.cachedStatement(
                sql: "INSERT OR REPLACE INTO org_manager (relationship_manager_id, name, unit_id, departed) VALUES (?, ?, ?, ?)"
            ).execute(arguments: [manager.relationshipManagerID, manager.name, manager.unitID, manager.departed])
            return
        default:
            guard event.type.hasPrefix("customer.") else { return }
        }
        let customer = try Crm_Customer_V1_CustomerChanged(serializedBytes: event.payload)
        guard !customer.id.isEmpty else { throw MirrorError(message: "\(event.type) \(event.sequence) names no customer") }
        let previous = try MirrorRow.fetch("customer_mirror", keyColumn: "customer_id", key: customer.id, db)
        // Dormant since the first event that showed it, for as long as it lasts.
        let wasDormantSince: String? = previous?["dormant_since"]
        let dormantSince: String? =
            customer.lifecycleStage == .dormant ? wasDormantSince ?? pipeline.today(atMilliseconds: event.at.milliseconds).description : nil
        let birthMD = LocalDate(customer.birthDate).map { String($0.description.dropFirst(5)) } ?? ""
        let consented = customer.consents.filter { $0.purpose == .marketing && $0.granted }.compactMap { SegmentQuery.channelName($0.channel) }
        let marketingConsents = consented.isEmpty ? "" : "," + Set(consented).sorted().joined(separator: ",") + ","
        try MirrorRow.write(
            "customer_mirror", keyColumn: "customer_id", key: customer.id,
            values: [
                "status": customer.status.rawValue, "kind": customer.kind.rawValue, "value_grade": customer.valueGrade,
                "credit_grade": customer.creditGrade, "lifecycle_stage": customer.lifecycleStage.rawValue, "birth_date": customer.birthDate,
                "birth_md": birthMD, "relationship_manager_id": customer.relationshipManagerID, "branch_id": customer.branchID,
                "merged_into_id": customer.mergedIntoID, "assets_minor": customer.reportingAssetsMinor,
                "monthly_contribution_minor": customer.monthlyContributionMinor, "dormant_since": dormantSince,
                "marketing_consents": marketingConsents, "payload": Data(event.payload), "updated_at_ms": event.at.milliseconds,
            ],
            previous: previous, db)
        try replaceHeldAccounts(of: customer, db)
        if customer.status == .active {
            try TaskBook(pipeline: pipeline).customerChanged(
                customer.id, rm: customer.relationshipManagerID, assets: customer.reportingAssetsMinor, previousCredit: previous?["credit_grade"],
                credit: customer.creditGrade, atMs: event.at.milliseconds, db)
        }
        switch event.type {
        case "customer.merged" where !customer.mergedIntoID.isEmpty:
            try pipeline.moveOpportunities(of: customer.id, to: customer.mergedIntoID, db)
        case "customer.unmerged":
            try pipeline.moveOpportunitiesBack(to: customer.id, db)
        case Erasure.customerErasedEvent:
            try eraseCustomer(customer.id, db).publish(service: "marketing", atMilliseconds: pipeline.nowMilliseconds, db)
        default:
            break
        }
    }

    /// Makes the customer's held accounts those of the event, rewriting them (and their two indexes)
    /// only if they differ.
    private func replaceHeldAccounts(of customer: Crm_Customer_V1_CustomerChanged, _ db: Database) throws {
        let held = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT account_number, product_type, maturity_date, reporting_balance_minor, monthly_contribution_minor
                    FROM held_account WHERE customer_id = ? ORDER BY account_number
                    """),
            arguments: [customer.id]
        ).map { row in
            [row[0], row[1], row[2], row[3], row[4]] as [DatabaseValue]
        }
        let incoming = customer.accounts.sorted { $0.accountNumber < $1.accountNumber }.map { account in
            [
                account.accountNumber.databaseValue, account.productType.rawValue.databaseValue, account.maturityDate.databaseValue,
                account.reportingBalanceMinor.databaseValue, account.monthlyContributionMinor.databaseValue,
            ]
        }
        guard held != incoming else { return }
        try db.cachedStatement(sql: "DELETE FROM held_account WHERE customer_id = ?").execute(arguments: [customer.id])
        for account in customer.accounts {
            try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO held_account (customer_id, account_number, product_type, maturity_date, reporting_balance_minor,
                        monthly_contribution_minor) VALUES (?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                customer.id, account.accountNumber, account.productType.rawValue, account.maturityDate, account.reportingBalanceMinor,
                account.monthlyContributionMinor,
            ])
        }
    }

    /// The apply function for the `servicedesk` producer: each case's latest kind and status.
    public func applyCase(_ event: Crm_Feed_V1_ChangeEvent, _ db: Database) throws {
        guard event.type.hasPrefix("case.") || event.type.hasPrefix("sla.") else { return }
        let found = try Crm_Servicedesk_V1_CaseChanged(serializedBytes: event.payload).case
        guard !found.id.isEmpty, !found.customerID.isEmpty else { throw MirrorError(message: "\(event.type) \(event.sequence) names no case or customer") }
        let finished = [.resolved, .closed, .cancelled].contains(found.status)
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO case_mirror (case_id, customer_id, kind, status, finished, opened_at_ms, updated_at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [found.id, found.customerID, found.kind.rawValue, found.status.rawValue, finished, found.openedAt.milliseconds, event.at.milliseconds])
        if event.type == "case.opened", found.kind == .complaint {
            try TaskBook(pipeline: pipeline).complaintOpened(found.customerID, atMs: found.openedAt.milliseconds, db)
        }
    }

    /// What Marketing attaches something new to a customer by (an opportunity, a task, tags, offers),
    /// after the rule every mirror applies (``MirroredCustomer``): known, not merged away, not erased.
    static func usableCustomer(_ id: String, thing: String, _ db: Database) throws -> (branchID: String, relationshipManagerID: String) {
        let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT status, merged_into_id, branch_id, relationship_manager_id FROM customer_mirror WHERE customer_id = ?"),
            arguments: [id])
        try MirroredCustomer.checkUsable(
            id, mirrored: row.map { (Crm_Customer_V1_CustomerStatus(rawValue: $0[0]) ?? .unspecified, $0[1]) }, service: "Marketing", thing: thing)
        return (row![2], row![3])
    }

    /// Whether the customer has a complaint that is not resolved, closed or cancelled.
    static func hasOpenComplaint(_ customerID: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM case_mirror WHERE customer_id = ? AND finished = 0 AND kind = ? LIMIT 1"),
            arguments: [customerID, Crm_Servicedesk_V1_CaseKind.complaint.rawValue]) ?? false
    }
}

/// A feed event Marketing cannot apply (it goes to the dead-letter table after its attempts).
struct MirrorError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
