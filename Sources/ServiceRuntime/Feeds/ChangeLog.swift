internal import Foundation
internal import NIOCore
public import GRDB
public import SwiftProtobuf
public import WireProtocol
public import CRMAPI

/// A service's transactional outbox: every state change appends its event in
/// the same transaction as the change, so an event exists exactly when its change committed.
///
/// Sequences come from `AUTOINCREMENT`: never reused, also after the log is pruned down to nothing.
/// The epoch, made once when the database is created, tells consumers that a log is a different
/// log (a restored backup, a new installation) and their offsets no longer apply.
public enum ChangeLog {
    /// Tables of both sides: the producer's log and consumer registry, the consumer's offsets and
    /// dead letters. Every service has them; a service that neither publishes nor consumes leaves
    /// them empty.
    static func createTables(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE change_log (
                    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                    type TEXT NOT NULL,
                    entity_key TEXT NOT NULL,
                    at_ms INTEGER NOT NULL,
                    payload_type TEXT NOT NULL,
                    payload BLOB NOT NULL
                );
                CREATE TABLE feed_epoch (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    epoch TEXT NOT NULL
                );
                INSERT INTO feed_epoch (id, epoch) VALUES (1, lower(hex(randomblob(16))));
                -- Consumers that subscribed, and how far each has acknowledged.
                CREATE TABLE feed_consumer (
                    consumer TEXT PRIMARY KEY,
                    acknowledged_sequence INTEGER NOT NULL,
                    acknowledged_at_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                -- Consumer side: the last event applied from each producer, written with its effect.
                CREATE TABLE feed_offset (
                    producer TEXT PRIMARY KEY,
                    epoch TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    updated_at_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                -- Events that failed to apply, and the later events of the same entity held behind them.
                CREATE TABLE feed_dead_letter (
                    letter_id INTEGER PRIMARY KEY AUTOINCREMENT,
                    producer TEXT NOT NULL,
                    epoch TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    entity_key TEXT NOT NULL,
                    event BLOB NOT NULL,
                    error TEXT NOT NULL,
                    attempts INTEGER NOT NULL,
                    failed_at_ms INTEGER NOT NULL,
                    resolved_at_ms INTEGER,
                    UNIQUE (producer, epoch, sequence)
                );
                CREATE INDEX feed_dead_letter_open ON feed_dead_letter (producer, entity_key) WHERE resolved_at_ms IS NULL;
                """)
    }

    /// Appends an event to the log inside the caller's transaction.
    public static func append<Payload: SwiftProtobuf.Message>(
        type eventType: String, entityKey: String, payload: Payload, atMilliseconds: Int64, _ db: Database
    ) throws {
        let bytes = Data(try payload.encodedPayload().readableBytesView)
        try db.cachedStatement(
            sql: "INSERT INTO change_log (type, entity_key, at_ms, payload_type, payload) VALUES (?, ?, ?, ?, ?)"
        ).execute(arguments: [eventType, entityKey, atMilliseconds, Payload.protoMessageName, bytes])
    }

    public static func epoch(_ db: Database) throws -> String {
        try String.fetchOne(db.cachedStatement(sql: "SELECT epoch FROM feed_epoch WHERE id = 1")) ?? ""
    }

    /// The last sequence ever handed out (0 for none), whether or not its row was pruned.
    public static func lastSequence(_ db: Database) throws -> UInt64 {
        let value = try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM sqlite_sequence WHERE name = 'change_log'")) ?? 0
        return UInt64(max(0, value))
    }

    /// The oldest retained sequence; `lastSequence + 1` when the log is empty.
    public static func firstSequence(_ db: Database) throws -> UInt64 {
        if let first = try Int64.fetchOne(db.cachedStatement(sql: "SELECT MIN(sequence) FROM change_log")) { return UInt64(first) }
        return try lastSequence(db) + 1
    }

    /// Up to `limit` events after `sequence`, in order.
    public static func events(after sequence: UInt64, limit: Int, epoch: String, _ db: Database) throws -> [Crm_Feed_V1_ChangeEvent] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM change_log WHERE sequence > ? ORDER BY sequence LIMIT ?"),
            arguments: [Int64(clamping: sequence), limit]
        ).map { row in
            var event = Crm_Feed_V1_ChangeEvent()
            event.sequence = UInt64(row["sequence"] as Int64)
            event.type = row["type"]
            event.entityKey = row["entity_key"]
            event.at.milliseconds = row["at_ms"]
            event.producerEpoch = epoch
            event.payloadType = row["payload_type"]
            event.payload = row["payload"]
            return event
        }
    }

    /// Replaces the payload of every retained event of `entityKey` with `payload`, inside the
    /// caller's transaction: after an erasure the log must not keep what the database no longer
    /// holds. Sequences and types stay, so consumers lose no position; an event replayed later
    /// carries the redacted state, which is the entity's state from then on anyway.
    @discardableResult
    public static func redact<Payload: SwiftProtobuf.Message>(entityKey: String, payload: Payload, _ db: Database) throws -> Int {
        let bytes: [UInt8] = try payload.serializedBytes()
        try db.execute(
            sql: "UPDATE change_log SET payload = ?, payload_type = ? WHERE entity_key = ?",
            arguments: [Data(bytes), Payload.protoMessageName, entityKey])
        return db.changesCount
    }

    /// Deletes the events every registered consumer has acknowledged and that are older than the
    /// retention window. Returns how many were deleted.
    @discardableResult
    public static func prune(retentionMilliseconds: Int64, nowMilliseconds: Int64, _ db: Database) throws -> Int {
        let acknowledged = try Int64.fetchOne(db, sql: "SELECT MIN(acknowledged_sequence) FROM feed_consumer")
        // With no registered consumer nothing has been delivered anywhere: keep everything.
        guard let acknowledged else { return 0 }
        try db.execute(
            sql: "DELETE FROM change_log WHERE sequence <= ? AND at_ms < ?",
            arguments: [acknowledged, nowMilliseconds - retentionMilliseconds])
        return db.changesCount
    }
}
