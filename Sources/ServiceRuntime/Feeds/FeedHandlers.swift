internal import Foundation
internal import GRDB
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI
public import RPCTransport

/// The producer side of a change feed: Feed.Subscribe, Feed.Acknowledge and Feed.Status over the
/// service's own change log. A service that publishes registers these; nothing else is needed.
public enum FeedHandlers {
    /// Events read from the log per query while catching up.
    static let batchSize = 500

    /// `presenter` gives, once per subscription, how that subscriber sees each event (the customer
    /// feed masks personal fields by the caller's policy), or nil for the events as logged; the log
    /// itself is never changed by it.
    public static func register(
        into router: inout RPCRouter, store: Store,
        presenter: (@Sendable (ServerCallContext) -> (@Sendable (Crm_Feed_V1_ChangeEvent) -> Crm_Feed_V1_ChangeEvent)?)? = nil
    ) {
        router.register(FeedMethods.subscribe, endsAtDrain: true) { request, writer, context in
            let present = presenter?(context)
            let consumer = try consumerName(request.consumer)
            let start = request.afterSequence
            let epoch = try await store.write { db -> String in
                let epoch = try ChangeLog.epoch(db)
                try checkPosition(after: start, epoch: request.epoch, current: epoch, db)
                // A consumer is registered (and holds back pruning) from its first subscription.
                try db.execute(
                    sql: "INSERT INTO feed_consumer (consumer, acknowledged_sequence, acknowledged_at_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    arguments: [consumer, Int64(clamping: start), Self.nowMilliseconds()])
                return epoch
            }
            var after = start
            while true {
                let generation = store.feedSignal.generation
                let from = after
                let batch = try await store.read { db in try ChangeLog.events(after: from, limit: batchSize, epoch: epoch, db) }
                for event in batch {
                    try await writer.write(present?(event) ?? event)
                    after = event.sequence
                }
                if batch.count < batchSize { try await store.feedSignal.wait(after: generation) }
            }
        }
        router.register(FeedMethods.acknowledge) { request, _ in
            let consumer = try consumerName(request.consumer)
            try await store.write { db in
                let epoch = try ChangeLog.epoch(db)
                guard request.epoch == epoch else { throw epochChanged(epoch: epoch, first: try ChangeLog.firstSequence(db)) }
                guard request.sequence <= (try ChangeLog.lastSequence(db)) else {
                    throw RPCError(
                        code: .invalidArgument, message: "sequence \(request.sequence) was never produced", reason: .invalidField,
                        processing: .notProcessed, fieldViolations: [.init(field: "sequence", description: "beyond the last event")])
                }
                try db.execute(
                    sql: """
                        INSERT INTO feed_consumer (consumer, acknowledged_sequence, acknowledged_at_ms) VALUES (?, ?, ?)
                        ON CONFLICT (consumer) DO UPDATE SET
                            acknowledged_sequence = max(acknowledged_sequence, excluded.acknowledged_sequence),
                            acknowledged_at_ms = excluded.acknowledged_at_ms
                        """,
                    arguments: [consumer, Int64(clamping: request.sequence), Self.nowMilliseconds()])
            }
            return Crm_Feed_V1_AcknowledgeResponse()
        }
        router.register(FeedMethods.status) { _, _ in
            try await store.read { db in try status(db) }
        }
        router.register(FeedMethods.removeConsumer) { request, _ in
            let consumer = try consumerName(request.consumer)
            var response = Crm_Feed_V1_RemoveConsumerResponse()
            response.removed = try await store.write { db in
                try db.execute(sql: "DELETE FROM feed_consumer WHERE consumer = ?", arguments: [consumer])
                return db.changesCount > 0
            }
            return response
        }
    }

    /// The consumer side: Feed.ListDeadLetters and Feed.RetryDeadLetters over the service's feed
    /// consumers (by their producer name). A service that consumes feeds registers these.
    public static func register(into router: inout RPCRouter, consumers: [FeedConsumer]) {
        let byProducer = Dictionary(consumers.map { ($0.configuration.producer, $0) }, uniquingKeysWith: { first, _ in first })
        guard let store = consumers.first?.store else { return }
        router.register(FeedMethods.listDeadLetters) { request, _ in
            guard request.pageSize <= 500 else {
                throw RPCError(
                    code: .invalidArgument, message: "pageSize must be at most 500", reason: .invalidField, processing: .notProcessed,
                    fieldViolations: [.init(field: "pageSize", description: "at most 500")])
            }
            let limit = request.pageSize == 0 ? 100 : Int(request.pageSize)
            return try await store.read { db in
                var response = Crm_Feed_V1_ListDeadLettersResponse()
                response.letters = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM feed_dead_letter
                        WHERE letter_id > ? AND (? = '' OR producer = ?) AND (? OR resolved_at_ms IS NULL)
                        ORDER BY letter_id LIMIT ?
                        """,
                    arguments: [Int64(clamping: request.afterLetterID), request.producer, request.producer, request.includeResolved, limit]
                ).map { row in
                    var letter = Crm_Feed_V1_DeadLetter()
                    letter.letterID = UInt64(row["letter_id"] as Int64)
                    letter.producer = row["producer"]
                    letter.event = (try? Crm_Feed_V1_ChangeEvent(serializedBytes: row["event"] as Data)) ?? Crm_Feed_V1_ChangeEvent()
                    letter.error = row["error"]
                    letter.attempts = row["attempts"]
                    letter.failedAt.milliseconds = row["failed_at_ms"]
                    if let resolvedAt: Int64 = row["resolved_at_ms"] { letter.resolvedAt.milliseconds = resolvedAt }
                    return letter
                }
                return response
            }
        }
        router.register(FeedMethods.retryDeadLetters) { request, _ in
            guard let consumer = byProducer[request.producer] else {
                throw RPCError(
                    code: .notFound, message: "no feed consumer of producer \"\(request.producer)\"; known: \(byProducer.keys.sorted().joined(separator: ", "))",
                    reason: .producerNotFound, processing: .notProcessed)
            }
            let outcome = try await consumer.retryDeadLetters(entityKey: request.entityKey.isEmpty ? nil : request.entityKey)
            var response = Crm_Feed_V1_RetryDeadLettersResponse()
            response.applied = UInt32(clamping: outcome.applied)
            response.stillOpen = UInt32(clamping: outcome.stillOpen)
            return response
        }
    }

    static func status(_ db: Database) throws -> Crm_Feed_V1_StatusResponse {
        var response = Crm_Feed_V1_StatusResponse()
        response.producerEpoch = try ChangeLog.epoch(db)
        response.lastSequence = try ChangeLog.lastSequence(db)
        response.firstSequence = try ChangeLog.firstSequence(db)
        response.retainedEvents = UInt64(try Int.fetchOne(db, sql: "SELECT count(*) FROM change_log") ?? 0)
        let now = nowMilliseconds()
        for row in try Row.fetchAll(db, sql: "SELECT * FROM feed_consumer ORDER BY consumer") {
            var consumer = Crm_Feed_V1_ConsumerStatus()
            consumer.consumer = row["consumer"]
            let acknowledged: Int64 = row["acknowledged_sequence"]
            consumer.acknowledgedSequence = UInt64(max(0, acknowledged))
            consumer.acknowledgedAt.milliseconds = row["acknowledged_at_ms"]
            consumer.lagEvents = response.lastSequence - min(response.lastSequence, consumer.acknowledgedSequence)
            if let oldest = try Int64.fetchOne(db, sql: "SELECT at_ms FROM change_log WHERE sequence > ? ORDER BY sequence LIMIT 1", arguments: [acknowledged]) {
                consumer.lagMs = max(0, now - oldest)
            }
            response.consumers.append(consumer)
        }
        return response
    }

    private static func checkPosition(after: UInt64, epoch requested: String, current: String, _ db: Database) throws {
        let first = try ChangeLog.firstSequence(db)
        if !requested.isEmpty && requested != current { throw epochChanged(epoch: current, first: first) }
        if after > (try ChangeLog.lastSequence(db)) {
            throw RPCError(
                code: .invalidArgument, message: "afterSequence \(after) was never produced (epoch \(current))", reason: .invalidField,
                processing: .notProcessed, fieldViolations: [.init(field: "afterSequence", description: "beyond the last event")])
        }
        if after + 1 < first {
            throw RPCError(
                code: .failedPrecondition, message: "events after \(after) were pruned; the oldest retained is \(first)",
                reason: .eventsPruned, processing: .notProcessed, details: ["first_sequence": String(first)])
        }
    }

    static func epochChanged(epoch: String, first: UInt64) -> RPCError {
        RPCError(
            code: .failedPrecondition, message: "the producer's change log is a different one now (epoch \(epoch)); start again from its beginning",
            reason: .epochChanged, processing: .notProcessed, details: ["epoch": epoch, "first_sequence": String(first)])
    }

    private static func consumerName(_ name: String) throws -> String {
        let scalars = name.unicodeScalars
        guard (1...40).contains(scalars.count),
            scalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") })
        else {
            throw RPCError(
                code: .invalidArgument, message: "consumer must be 1 to 40 letters, digits, - and _", reason: .invalidField,
                processing: .notProcessed, fieldViolations: [.init(field: "consumer", description: "1 to 40 letters, digits, - and _")])
        }
        return name
    }

    static func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
