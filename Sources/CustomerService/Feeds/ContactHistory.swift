internal import GRDB
internal import ServiceRuntime
internal import WireProtocol
internal import CRMAPI

/// Contact history entries written from other services' events (a case opened or resolved, a
/// campaign's contact). Each names its source event, under a unique index, so that applying the
/// event again (a replay, a new producer epoch) adds nothing. Also the key of the customer such an
/// event names, shared by the feed appliers.
enum ContactHistory {
    /// The key of the customer another service's event names; nil if erased (nothing of theirs is
    /// kept). An id that is no customer id is an error: the consumer retries it, then dead-letters it.
    static func customerKey(_ customerID: String, what: String, _ db: Database) throws -> Int64? {
        guard let key = CustomerRecords.key(fromID: customerID) else {
            throw RPCError(code: .invalidArgument, message: "\(what) names no customer id: \"\(customerID)\"", reason: .badEvent)
        }
        let status = try Int.fetchOne(db.cachedStatement(sql: "SELECT status FROM customer WHERE key = ?"), arguments: [key])
        return status == Crm_Customer_V1_CustomerStatus.erased.rawValue ? nil : key
    }

    static func record(
        customerKey: Int64, channel: Crm_Customer_V1_InteractionChannel, subject: String, outcome: String, handledBy: String, atMs: Int64,
        source: String, _ db: Database
    ) throws {
        try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO interaction (customer_key, channel, subject, outcome, handled_by, at_ms, recorded_at_ms, source)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            customerKey, channel.rawValue, String(subject.prefix(200)), String(outcome.prefix(1_000)), String(handledBy.prefix(20)), atMs, atMs, source,
        ])
    }
}
