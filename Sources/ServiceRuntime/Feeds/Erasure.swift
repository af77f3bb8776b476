public import GRDB
internal import Foundation
public import SwiftProtobuf
public import WireProtocol
public import CRMAPI

/// What a service erases of a customer besides its own tables, and the record of where it erased:
/// the places of a ``Crm_Feed_V1_ErasureApplied``, published on the service's feed so that the
/// customer service's audit log says what was erased where.
public struct Erasure: Sendable {
    /// What an erased free text becomes, in every service.
    public static let marker = "[erased]"
    /// The customer feed's event that each consumer applies by erasing its copies.
    public static let customerErasedEvent = "customer.erased"

    public let customerID: String
    public private(set) var places: [Crm_Feed_V1_ErasedPlace] = []

    public init(customerID: String) {
        self.customerID = customerID
    }

    /// Counts `rows` changed at `place` ("table.column", or "table" for deleted rows); a place
    /// with no rows is not recorded.
    public mutating func record(_ place: String, rows: Int) {
        guard rows > 0 else { return }
        if let index = places.firstIndex(where: { $0.place == place }) {
            places[index].rows = UInt32(clamping: Int(places[index].rows) + rows)
            return
        }
        var erased = Crm_Feed_V1_ErasedPlace()
        erased.place = place
        erased.rows = UInt32(clamping: rows)
        places.append(erased)
    }

    /// Sets every non-empty `column` of `table`'s rows matching `filter` to the marker, and records it.
    public mutating func blank(_ table: String, _ columns: [String], where filter: String, _ arguments: StatementArguments, _ db: Database) throws {
        for column in columns {
            var all: StatementArguments = [Self.marker]
            all += arguments
            all += [Self.marker]
            try db.execute(sql: "UPDATE \(table) SET \(column) = ? WHERE (\(filter)) AND \(column) NOT IN ('', ?)", arguments: all)
            record("\(table).\(column)", rows: db.changesCount)
        }
    }

    /// Deletes `table`'s rows matching `filter`, and records it.
    public mutating func delete(from table: String, where filter: String, _ arguments: StatementArguments, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM \(table) WHERE \(filter)", arguments: arguments)
        record(table, rows: db.changesCount)
    }

    /// Rewrites every past event of `entityKey` in the change log to `payload` (its erased state),
    /// and records it.
    public mutating func redactPastEvents<Payload: SwiftProtobuf.Message>(of entityKey: String, to payload: Payload, _ db: Database) throws {
        record("change_log.payload", rows: try ChangeLog.redact(entityKey: entityKey, payload: payload, db))
    }

    /// What every store holds beside a service's own tables: the dead letters of the entities
    /// erased (their events and errors are blanked and the letters resolved: nothing of them may
    /// be applied later), and the idempotency table's stored answers that name the customer (a
    /// retry of such a request is run again, against the erased data).
    public mutating func eraseRuntimeCopies(entityKeys: [String], nowMilliseconds: Int64, _ db: Database) throws {
        for chunk in stride(from: 0, to: entityKeys.count, by: 500).map({ Array(entityKeys[$0..<min($0 + 500, entityKeys.count)]) }) {
            var arguments: StatementArguments = [Self.marker, nowMilliseconds]
            arguments += StatementArguments(chunk)
            try db.execute(
                sql: """
                    UPDATE feed_dead_letter SET event = x'', error = ?, resolved_at_ms = COALESCE(resolved_at_ms, ?)
                    WHERE entity_key IN (\(databaseQuestionMarks(count: chunk.count)))
                    """,
                arguments: arguments)
            record("feed_dead_letter.event", rows: db.changesCount)
        }
        try db.execute(
            sql: "DELETE FROM runtime_idempotency WHERE instr(response, CAST(? AS BLOB)) > 0", arguments: [customerID])
        record("runtime_idempotency", rows: db.changesCount)
    }

    /// The `erasure.applied` event of `service`, appended to its change log in the caller's transaction.
    public func publish(service: String, atMilliseconds: Int64, _ db: Database) throws {
        var applied = Crm_Feed_V1_ErasureApplied()
        applied.customerID = customerID
        applied.service = service
        applied.places = places
        try ChangeLog.append(type: "erasure.applied", entityKey: customerID, payload: applied, atMilliseconds: atMilliseconds, db)
    }
}
