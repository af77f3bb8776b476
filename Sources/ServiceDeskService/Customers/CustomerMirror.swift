internal import Foundation
public import GRDB
internal import ServiceRuntime
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI
public import CustomerMirror

/// ServiceDesk's copy of what it needs of each customer, kept from the customer feed: a case can
/// only be opened for a customer it knows, its SLA policy is picked by the customer's value grade,
/// and it follows its customer through merges and unmerges. Each event carries the customer's
/// whole state after the change, so applying one is an upsert and applying it again changes
/// nothing (the feed consumer applies it in the transaction that stores its sequence).
public struct CustomerMirror: Sendable {
    let desk: CaseDesk

    public init(desk: CaseDesk) {
        self.desk = desk
    }

    /// Applies one customer feed event (the feed consumer's apply function for the `customer`
    /// producer); the organisation events on the same feed are not ServiceDesk's.
    public func apply(_ event: Crm_Feed_V1_ChangeEvent, _ db: Database) throws {
        guard event.type.hasPrefix("customer.") else { return }
        let customer = try Crm_Customer_V1_CustomerChanged(serializedBytes: event.payload)
        guard !customer.id.isEmpty else { throw MirrorError(message: "\(event.type) \(event.sequence) names no customer") }
        let previousGrade = try Int.fetchOne(
            db.cachedStatement(sql: "SELECT value_grade FROM customer_mirror WHERE customer_id = ?"), arguments: [customer.id])
        try db.cachedStatement(
            sql: """
                INSERT INTO customer_mirror (customer_id, status, value_grade, branch_id, merged_into_id, payload, updated_at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (customer_id) DO UPDATE SET status = excluded.status, value_grade = excluded.value_grade,
                    branch_id = excluded.branch_id, merged_into_id = excluded.merged_into_id, payload = excluded.payload,
                    updated_at_ms = excluded.updated_at_ms
                """
        ).execute(arguments: [
            customer.id, customer.status.rawValue, customer.valueGrade, customer.branchID, customer.mergedIntoID,
            Data(event.payload), event.at.milliseconds,
        ])
        switch event.type {
        case "customer.merged" where !customer.mergedIntoID.isEmpty:
            try desk.moveCases(of: customer.id, to: customer.mergedIntoID, db)
        case "customer.unmerged":
            try desk.moveCasesBack(to: customer.id, db)
        case Erasure.customerErasedEvent:
            // The mirror row now holds the erased customer; the cases lose what they said.
            let erasure = try desk.eraseCustomer(customer.id, db)
            try erasure.publish(service: "servicedesk", atMilliseconds: desk.now().milliseconds, db)
        default:
            break
        }
        if let previousGrade, previousGrade != Int(customer.valueGrade) {
            try desk.retargetOpenCases(of: customer.id, grade: Int(customer.valueGrade), db)
        }
    }

    /// What opening a case needs of its customer.
    struct Customer {
        var valueGrade: Int
        var branchID: String
    }

    /// The mirrored customer a new case may be opened for, or the error that says why not. A
    /// deactivated customer may still complain (former customers do); a merged-away or erased one
    /// may not.
    static func customerForNewCase(_ id: String, _ db: Database) throws -> Customer {
        let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT status, value_grade, branch_id, merged_into_id FROM customer_mirror WHERE customer_id = ?"),
            arguments: [id])
        try MirroredCustomer.checkUsable(
            id, mirrored: row.map { (Crm_Customer_V1_CustomerStatus(rawValue: $0[0]) ?? .unspecified, $0[3]) }, service: "ServiceDesk",
            thing: "the case")
        return Customer(valueGrade: row![1], branchID: row![2])
    }
}

/// A customer event ServiceDesk cannot apply (it goes to the dead-letter table after its attempts).
struct MirrorError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
