internal import Foundation
internal import Synchronization
public import GRDB
public import Prometheus
internal import WireProtocol
public import RPCTransport

/// A server's Prometheus metrics (docs/OPERATIONS.md, "Metrics"): what the protocol layer counts as
/// calls happen (calls by method and code, their latency, calls in flight, connections, TLS
/// handshakes that failed, write-lock waits), and what is read from the database when scraped
/// (feed lag, dead letters, a service's own gauges such as SLA warnings and breaches).
///
/// One registry per server, not swift-metrics' process-wide factory: tests run several servers in
/// one process and each must report only its own.
public final class ServerMetrics: RPCServerObserver {
    public let registry = PrometheusCollectorRegistry()
    private let inFlight: Gauge
    private let connections: Gauge
    private let refusedConnections: Counter
    private let handshakeFailures: Counter
    private let writeWaits: DurationHistogram
    private let databaseGauges: [DatabaseGauge]
    /// Each (method, code)'s counter and each method's histogram, found in the registry once: a
    /// registry lookup builds the metric's name and hashes its labels, too much for every call.
    private let perCall = Mutex<[CallKey: (count: Counter, latency: DurationHistogram)]>([:])

    private struct CallKey: Hashable {
        var method: String
        var code: String
    }

    /// Latency buckets from 100 us (a cached read) to 10 s (beyond any sane call).
    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    /// - Parameters:
    ///   - server: the executable's name, reported with its version in `crm_build_info`.
    ///   - databaseGauges: the service's own gauges, read from its database at each scrape.
    public init(server: String, version: String, databaseGauges: [DatabaseGauge] = []) {
        inFlight = registry.makeGauge(descriptor: Self.name("rpc_in_flight", "calls", "Calls being handled now."), labels: [])
        connections = registry.makeGauge(descriptor: Self.name("connections", "open", "Protocol connections open now."), labels: [])
        refusedConnections = registry.makeCounter(
            descriptor: Self.name("connections_refused", "total", "Connections closed at once because limits.max_connections was reached."),
            labels: [])
        handshakeFailures = registry.makeCounter(
            descriptor: Self.name("tls_handshake_failures", "total", "TLS handshakes that failed (bad, expired or revoked certificates, protocol errors)."),
            labels: [])
        writeWaits = registry.makeDurationHistogram(
            descriptor: Self.name("sqlite_write_wait", "seconds", "How long a write waited for SQLite's single writer before it could start."),
            labels: [], buckets: Self.latencyBuckets)
        registry.makeGauge(descriptor: Self.name("build", "info", "The server and its version (always 1)."), labels: [
            ("server", server), ("version", version),
        ]).set(to: 1)
        self.databaseGauges = ServerMetrics.feedGauges + databaseGauges
    }

    /// Sets a gauge the caller computes at scrape time (the gateway's backend states).
    public func setGauge(_ metric: String, unit: String, help: String, labels: [(String, String)], to value: Double) {
        registry.makeGauge(descriptor: Self.name(metric, unit, help), labels: labels).set(to: value)
    }

    /// `crm_<metric>_<unit>`, with its help line.
    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "crm", metricName: metric, unitName: unit, helpText: help)
    }

    // MARK: Recorded as it happens

    public func callStarted() { inFlight.increment() }

    /// A call ended: counted under its method's name (unknown ids under "unknown", so that a
    /// hostile caller cannot grow the label set) and its code.
    public func callFinished(method: String?, code: String, duration: Duration) {
        inFlight.decrement()
        let key = CallKey(method: method ?? "unknown", code: code)
        let metrics = perCall.withLock { known in
            if let found = known[key] { return found }
            let made = (
                count: registry.makeCounter(
                    descriptor: Self.name("rpc_requests", "total", "Calls answered, by method and status code."),
                    labels: [("method", key.method), ("code", key.code)]),
                latency: registry.makeDurationHistogram(
                    descriptor: Self.name("rpc_request_duration", "seconds", "Time from a call's request to its answer, by method."),
                    labels: [("method", key.method)], buckets: Self.latencyBuckets)
            )
            known[key] = made
            return made
        }
        metrics.count.increment()
        metrics.latency.record(duration)
    }

    public func connectionOpened() { connections.increment() }
    public func connectionClosed() { connections.decrement() }
    public func connectionRefused() { refusedConnections.increment() }
    public func handshakeFailed() { handshakeFailures.increment() }
    func waitedForWriter(_ duration: Duration) { writeWaits.record(duration) }

    // MARK: Read at scrape time

    /// The exposition text: the database gauges are read first (in one read transaction), then
    /// everything is written out.
    public func scrape(_ store: Store?) async -> [UInt8] {
        if let store, !databaseGauges.isEmpty {
            let gauges = databaseGauges
            let readings = try? await store.read { db in
                try gauges.map { gauge in (gauge, try gauge.read(db)) }
            }
            for (gauge, values) in readings ?? [] {
                for (labels, value) in values { setGauge(gauge.metric, unit: gauge.unit, help: gauge.help, labels: labels, to: value) }
            }
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }

    /// Every server has the tables of both feed sides: the producer's consumers and their lag,
    /// the consumer's dead letters.
    static let feedGauges: [DatabaseGauge] = [
        DatabaseGauge(metric: "feed_consumer_lag", unit: "events", help: "Events this server published that a consumer has not acknowledged.") { db in
            let last = try ChangeLog.lastSequence(db)
            return try Row.fetchAll(db, sql: "SELECT consumer, acknowledged_sequence FROM feed_consumer ORDER BY consumer").map { row in
                let acknowledged: Int64 = row[1]
                return ([("consumer", row[0] as String)], Double(last - min(last, UInt64(max(0, acknowledged)))))
            }
        },
        DatabaseGauge(
            metric: "feed_consumer_lag", unit: "seconds", help: "Age of the oldest event a consumer has not acknowledged (0 when it is up to date)."
        ) { db in
            let now = FeedHandlers.nowMilliseconds()
            return try Row.fetchAll(db, sql: "SELECT consumer, acknowledged_sequence FROM feed_consumer ORDER BY consumer").map { row in
                let oldest = try Int64.fetchOne(
                    db, sql: "SELECT at_ms FROM change_log WHERE sequence > ? ORDER BY sequence LIMIT 1", arguments: [row[1] as Int64])
                return ([("consumer", row[0] as String)], oldest.map { Double(max(0, now - $0)) / 1000 } ?? 0)
            }
        },
        DatabaseGauge(metric: "feed_dead_letters", unit: "open", help: "Events from a producer that failed to apply and wait for a retry.") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT o.producer, (SELECT count(*) FROM feed_dead_letter d WHERE d.producer = o.producer AND d.resolved_at_ms IS NULL)
                    FROM feed_offset o ORDER BY o.producer
                    """
            ).map { row in ([("producer", row[0] as String)], Double(row[1] as Int)) }
        },
        DatabaseGauge(metric: "feed_applied", unit: "sequence", help: "The last event applied from each producer.") { db in
            try Row.fetchAll(db, sql: "SELECT producer, sequence FROM feed_offset ORDER BY producer").map { row in
                ([("producer", row[0] as String)], Double(row[1] as Int64))
            }
        },
    ]
}

/// A gauge read from the database at each scrape: one value per label set.
public struct DatabaseGauge: Sendable {
    public var metric: String
    public var unit: String
    public var help: String
    public var read: @Sendable (Database) throws -> [(labels: [(String, String)], value: Double)]

    /// - Parameters: `crm_<metric>_<unit>` is the exposed name.
    public init(
        metric: String, unit: String, help: String, read: @escaping @Sendable (Database) throws -> [(labels: [(String, String)], value: Double)]
    ) {
        self.metric = metric
        self.unit = unit
        self.help = help
        self.read = read
    }
}
