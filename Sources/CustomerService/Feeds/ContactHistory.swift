internal import GRDB
internal import WireProtocol

/// Contact history entries written from other services' events (a case opened or resolved, a
/// campaign's contact). Each names its source event, under a unique index, so that applying the
/// event again (a replay, a new producer epoch) adds nothing.
enum ContactHistory {
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
