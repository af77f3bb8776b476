internal import Foundation
public import GRDB
internal import NIOCore
public import Logging
public import ServiceLifecycle
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI
public import RPCTransport

/// The consumer side of a change feed: one per (consumer, producer) pair, run in the service's
/// ServiceGroup. It subscribes after the offset it stored, applies the events that have arrived in
/// one write transaction, each in a savepoint that also stores its sequence (so after any crash it
/// resumes exactly where its last commit ended: at-least-once delivery, exactly-once effect),
/// acknowledges its progress to the producer, and reconnects with jittered backoff when the
/// producer goes away.
///
/// An event that fails to apply `maxAttempts` times goes to `feed_dead_letter` with its error; later
/// events of the same entity are held there behind it (order per entity is kept), events of other
/// entities keep flowing. ``retryDeadLetters(entityKey:)`` applies them again once the cause is fixed.
public struct FeedConsumer: Service {
    public typealias Apply = @Sendable (Crm_Feed_V1_ChangeEvent, Database) throws -> Void

    public struct Configuration: Sendable {
        /// The name offsets and dead letters are kept under, e.g. "customer".
        public var producer: String
        /// Our name at the producer, e.g. "marketing".
        public var consumer: String
        public var client: RPCClient.Configuration
        public var maxAttempts: Int
        public var retryDelay: Duration
        public var acknowledgeInterval: Duration

        public init(
            producer: String, consumer: String, client: RPCClient.Configuration, maxAttempts: Int = 5,
            retryDelay: Duration = .milliseconds(50), acknowledgeInterval: Duration = .seconds(1)
        ) {
            self.producer = producer
            self.consumer = consumer
            self.client = client
            self.maxAttempts = maxAttempts
            self.retryDelay = retryDelay
            self.acknowledgeInterval = acknowledgeInterval
        }
    }

    public struct Offset: Sendable, Equatable {
        public var epoch: String
        public var sequence: UInt64
    }

    let configuration: Configuration
    let store: Store
    let apply: Apply
    let logger: Logger

    public init(configuration: Configuration, store: Store, logger: Logger, apply: @escaping Apply) {
        self.configuration = configuration
        self.store = store
        self.apply = apply
        self.logger = logger
    }

    public func run() async throws {
        let client = RPCClient(configuration: configuration.client)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await cancelWhenGracefulShutdown { await subscribeLoop(client) } }
            group.addTask { await cancelWhenGracefulShutdown { await acknowledgeLoop(client) } }
        }
        await client.close()
    }

    // MARK: Subscribing

    private func subscribeLoop(_ client: RPCClient) async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let offset = try await currentOffset()
                var request = Crm_Feed_V1_SubscribeRequest()
                request.consumer = configuration.consumer
                request.afterSequence = offset.sequence
                request.epoch = offset.epoch
                let stream = try await client.serverStream(FeedMethods.subscribe, request, window: Self.window)
                // One task reads the stream while another applies what has arrived, many events a
                // transaction: a mirror then commits (and fsyncs) once per batch, not once per event.
                let buffer = FeedBuffer(capacity: 2 * Int(Self.window))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await buffer.fill(from: stream) }
                    defer { group.cancelAll() }
                    try await buffer.drain(batchLimit: Int(Self.window)) { events in
                        failures = 0
                        try await handle(events)
                    }
                }
            } catch let error as RPCError where error.reason == "EPOCH_CHANGED" {
                let epoch = error.details["epoch"] ?? ""
                logger.warning(
                    "the producer's change log was replaced; consuming it from its beginning",
                    metadata: ["producer": "\(configuration.producer)", "epoch": "\(epoch)"])
                try? await store.write { db in try Self.setOffset(Offset(epoch: epoch, sequence: 0), producer: configuration.producer, db) }
            } catch {
                if Task.isCancelled { return }
                failures += 1
                logger.info(
                    "change feed interrupted; reconnecting",
                    metadata: ["producer": "\(configuration.producer)", "error": "\(error)", "failures": "\(failures)"])
                try? await Task.sleep(for: backoff(failures))
            }
        }
    }

    private func backoff(_ failures: Int) -> Duration {
        let cap = min(5_000, 50 << min(failures, 10))
        return .milliseconds(Int.random(in: (cap / 2)...cap))
    }

    /// Items the producer may send ahead of the consumer, and the most events one transaction applies.
    static let window: UInt32 = 64

    /// Applies events in one transaction, each in a savepoint, and records the offset once. At the
    /// first that fails, the ones before it commit, it goes through ``handle(_:after:)`` (retries,
    /// then the dead letters), and the ones after it follow in the next transaction: order is kept.
    func handle(_ events: [Crm_Feed_V1_ChangeEvent]) async throws {
        var waiting = events[...]
        while !waiting.isEmpty {
            let batch = Array(waiting)
            let (applied, failure) = try await store.write { db -> (Int, ApplyFailure?) in
                // The offset is read once and written once for the batch: it commits with the
                // effects of the events before a failure, in the same transaction.
                let stored = try Self.offset(producer: configuration.producer, db)
                var offset = stored
                // Only an open dead letter holds events back, and none opens inside a batch (a
                // failing event ends it): with none open, no event needs to look.
                let lettersOpen = try Self.hasOpenDeadLetters(producer: configuration.producer, db)
                var outcome: (Int, ApplyFailure?) = (batch.count, nil)
                for (index, event) in batch.enumerated() {
                    do {
                        try Self.eventSavepoint.run(db) {
                            if try applyOnce(event, after: offset, lettersOpen: lettersOpen, db) {
                                offset = Offset(epoch: event.producerEpoch, sequence: event.sequence)
                            }
                        }
                    } catch let failure as ApplyFailure {
                        outcome = (index, failure)
                        break
                    }
                }
                // SQLite ends the whole transaction on some errors (a full disk, an I/O error): the
                // effects before the failure are gone, and an offset written now would commit alone.
                if let failure = outcome.1, !db.isInsideTransaction { throw failure.underlying }
                if offset != stored { try Self.setOffset(offset, producer: configuration.producer, db) }
                return outcome
            }
            waiting = waiting.dropFirst(applied)
            if let failure, let failed = waiting.popFirst() {
                try await handle(failed, after: failure)
            }
        }
    }

    /// Applies one event with its offset in one transaction, retrying and finally dead-lettering
    /// it; `earlier` is the failure of an attempt already made (in a batch), which counts.
    func handle(_ event: Crm_Feed_V1_ChangeEvent, after earlier: ApplyFailure? = nil) async throws {
        var attempt = earlier == nil ? 0 : 1
        var failure = earlier
        while true {
            if let failure {
                if attempt >= configuration.maxAttempts {
                    try await deadLetter(event, failure, attempts: attempt)
                    return
                }
                try await Task.sleep(for: configuration.retryDelay * attempt)
            }
            attempt += 1
            do {
                try await store.write { db in
                    if try applyOnce(event, after: Self.offset(producer: configuration.producer, db), lettersOpen: true, db) {
                        try Self.setOffset(Offset(epoch: event.producerEpoch, sequence: event.sequence), producer: configuration.producer, db)
                    }
                }
                return
            } catch let applyFailure as ApplyFailure {
                failure = applyFailure
            }
        }
    }

    private func deadLetter(_ event: Crm_Feed_V1_ChangeEvent, _ failure: ApplyFailure, attempts: Int) async throws {
        logger.error(
            "change event dead-lettered",
            metadata: [
                "producer": "\(configuration.producer)", "sequence": "\(event.sequence)", "type": "\(event.type)",
                "entity": "\(event.entityKey)", "error": "\(failure.underlying)",
            ])
        try await store.write { db in
            guard try deadLetterIfNew(event, error: "\(failure.underlying)", attempts: attempts, db) else { return }
            try Self.setOffset(Offset(epoch: event.producerEpoch, sequence: event.sequence), producer: configuration.producer, db)
        }
    }

    struct ApplyFailure: Error {
        var underlying: any Error
    }

    /// Applies the event unless `offset` (where the consumer stands) says it was already applied, or
    /// dead-letters it behind an unresolved letter of the same entity. True if it moved the offset,
    /// which the caller then records in the same transaction.
    private func applyOnce(_ event: Crm_Feed_V1_ChangeEvent, after offset: Offset, lettersOpen: Bool, _ db: Database) throws -> Bool {
        // A replay of something already applied (a resubscription from an older offset): no effect.
        if offset.epoch == event.producerEpoch && event.sequence <= offset.sequence { return false }
        if lettersOpen, let blocking = try Int64.fetchOne(
            db.cachedStatement(
                sql: "SELECT letter_id FROM feed_dead_letter WHERE producer = ? AND entity_key = ? AND resolved_at_ms IS NULL ORDER BY sequence LIMIT 1"),
            arguments: [configuration.producer, event.entityKey])
        {
            _ = try deadLetterIfNew(event, error: "held behind dead letter \(blocking) of the same entity", attempts: 0, db)
        } else {
            do {
                try apply(event, db)
            } catch {
                throw ApplyFailure(underlying: error)
            }
        }
        return true
    }

    private func deadLetterIfNew(_ event: Crm_Feed_V1_ChangeEvent, error: String, attempts: Int, _ db: Database) throws -> Bool {
        let offset = try Self.offset(producer: configuration.producer, db)
        if offset.epoch == event.producerEpoch && event.sequence <= offset.sequence { return false }
        let bytes: [UInt8] = try event.serializedBytes()
        try db.execute(
            sql: """
                INSERT INTO feed_dead_letter (producer, epoch, sequence, entity_key, event, error, attempts, failed_at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """,
            arguments: [
                configuration.producer, event.producerEpoch, Int64(clamping: event.sequence), event.entityKey, Data(bytes), error, attempts,
                FeedHandlers.nowMilliseconds(),
            ])
        return true
    }

    // MARK: Dead letters

    /// Applies the open dead letters again, oldest first, each in its own transaction; stops at the
    /// first one of an entity that fails again (its later ones stay held). Returns how many applied
    /// and how many are still open.
    @discardableResult
    public func retryDeadLetters(entityKey: String? = nil) async throws -> (applied: Int, stillOpen: Int) {
        let letters = try await store.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT letter_id, entity_key, event FROM feed_dead_letter
                    WHERE producer = ? AND resolved_at_ms IS NULL AND (? IS NULL OR entity_key = ?) ORDER BY sequence
                    """,
                arguments: [configuration.producer, entityKey, entityKey]
            ).map { row in (id: row["letter_id"] as Int64, entity: row["entity_key"] as String, event: row["event"] as Data) }
        }
        var failed: Set<String> = []
        var applied = 0
        for letter in letters where !failed.contains(letter.entity) {
            try Task.checkCancellation()
            let event = try Crm_Feed_V1_ChangeEvent(serializedBytes: letter.event)
            do {
                try await store.write { db in
                    do { try apply(event, db) } catch { throw ApplyFailure(underlying: error) }
                    try db.execute(
                        sql: "UPDATE feed_dead_letter SET resolved_at_ms = ? WHERE letter_id = ?",
                        arguments: [FeedHandlers.nowMilliseconds(), letter.id])
                }
                applied += 1
            } catch let failure as ApplyFailure {
                failed.insert(letter.entity)
                try await store.write { db in
                    try db.execute(
                        sql: "UPDATE feed_dead_letter SET error = ?, attempts = attempts + 1, failed_at_ms = ? WHERE letter_id = ?",
                        arguments: ["\(failure.underlying)", FeedHandlers.nowMilliseconds(), letter.id])
                }
            }
        }
        return (applied, letters.count - applied)
    }

    // MARK: Offsets and acknowledgements

    func currentOffset() async throws -> Offset {
        try await store.read { db in try Self.offset(producer: configuration.producer, db) }
    }

    private func acknowledgeLoop(_ client: RPCClient) async {
        var acknowledged: Offset?
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.acknowledgeInterval)
            guard let offset = try? await currentOffset(), !offset.epoch.isEmpty, offset != acknowledged else { continue }
            var request = Crm_Feed_V1_AcknowledgeRequest()
            request.consumer = configuration.consumer
            request.epoch = offset.epoch
            request.sequence = offset.sequence
            if (try? await client.unary(FeedMethods.acknowledge, request, timeout: .seconds(5))) != nil { acknowledged = offset }
        }
    }

    public static func offset(producer: String, _ db: Database) throws -> Offset {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT epoch, sequence FROM feed_offset WHERE producer = ?"), arguments: [producer]) else {
            return Offset(epoch: "", sequence: 0)
        }
        return Offset(epoch: row["epoch"], sequence: UInt64(max(0, row["sequence"] as Int64)))
    }

    /// Each event's savepoint in a batch: a failing event is undone alone.
    private static let eventSavepoint = PreparedSavepoint("feed_event")

    static func hasOpenDeadLetters(producer: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM feed_dead_letter WHERE producer = ? AND resolved_at_ms IS NULL)"),
            arguments: [producer]) ?? false
    }

    static func setOffset(_ offset: Offset, producer: String, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO feed_offset (producer, epoch, sequence, updated_at_ms) VALUES (?, ?, ?, ?)
                ON CONFLICT (producer) DO UPDATE SET epoch = excluded.epoch, sequence = excluded.sequence, updated_at_ms = excluded.updated_at_ms
                """
        ).execute(arguments: [producer, offset.epoch, Int64(clamping: offset.sequence), FeedHandlers.nowMilliseconds()])
    }
}
