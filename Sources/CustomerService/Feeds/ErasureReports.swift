internal import GRDB
internal import ServiceRuntime
internal import SwiftProtobuf
internal import WireProtocol
internal import CRMAPI

/// ServiceDesk's and Marketing's `erasure.applied` events: each place where a service erased an
/// erased customer's data goes into the customer's audit log (action `erase-applied`, field
/// "<service> <place>", after "<n> rows"), so that the log says what was erased where.
enum ErasureReports {
    static let eventType = "erasure.applied"

    static func apply(_ event: Crm_Feed_V1_ChangeEvent, _ db: Database) throws {
        let applied = try Crm_Feed_V1_ErasureApplied(serializedBytes: event.payload)
        guard let key = CustomerRecords.key(fromID: applied.customerID) else {
            throw RPCError(code: .invalidArgument, message: "erasure.applied names no customer id: \"\(applied.customerID)\"", reason: .badEvent)
        }
        let service = applied.service.isEmpty ? "unknown" : applied.service
        let entries = applied.places.map { place in
            AuditLog.Entry(customerKey: key, action: "erase-applied", field: "\(service) \(place.place)", before: "", after: "\(place.rows) rows")
        }
        // One row says the service applied the erasure also when it held nothing of the customer.
        let rows = entries.isEmpty ? [AuditLog.Entry(customerKey: key, action: "erase-applied", field: service, before: "", after: "nothing held")] : entries
        try AuditLog.append(rows, caller: Caller(system: "crm-\(service)"), atMilliseconds: event.at.milliseconds, db)
    }
}
