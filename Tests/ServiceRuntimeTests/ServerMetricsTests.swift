import Foundation
import GRDB
import Logging
import NIOCore
import ServiceRuntime
import TestSupport
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// What the protocol layer and the database gauges put on the admin listener.
@Suite("Server metrics")
struct ServerMetricsTests {
    static func exposition(_ metrics: ServerMetrics, _ store: Store? = nil) async -> String {
        String(decoding: await metrics.scrape(store), as: UTF8.self)
    }

    @Test("a TLS handshake with a certificate of another CA, and a connection over the limit, are counted; good calls by method and code")
    func handshakesAndConnections() async throws {
        let pki = try TestPKI.make()
        defer { pki.remove() }
        let metrics = ServerMetrics(server: "test", version: "1")
        try await withTestServer(configuration: .init(port: 0, tls: pki.server, maxConnections: 1), metrics: metrics) { _, port in
            await #expect(throws: (any Error).self) {
                let connection = try await RPCConnection.connect(host: "127.0.0.1", port: port, options: .init(tls: pki.stranger))
                _ = try await connection.unary(SystemMethods.echo, echoRequest("x"), timeout: .seconds(5))
            }
            #expect(await eventually { await Self.exposition(metrics).contains("crm_tls_handshake_failures_total 1\n") })
            #expect(await eventually { await Self.exposition(metrics).contains("crm_connections_open 0.0\n") })

            let connection = try await RPCConnection.connect(host: "127.0.0.1", port: port, options: .init(tls: pki.client, connectTimeout: TestTimeouts.connect))
            _ = try await connection.unary(SystemMethods.echo, echoRequest("x"))
            // A second connection is over limits.max_connections: closed at once, and counted.
            await #expect(throws: (any Error).self) {
                let second = try await RPCConnection.connect(host: "127.0.0.1", port: port, options: .init(tls: pki.client, connectTimeout: TestTimeouts.connect))
                _ = try await second.unary(SystemMethods.echo, echoRequest("x"), timeout: .seconds(5))
            }
            let text = await Self.exposition(metrics)
            #expect(text.contains("crm_connections_refused_total 1\n"), "\(text)")
            #expect(text.contains("crm_connections_open 1.0\n"))
            #expect(text.contains(#"crm_rpc_requests_total{method="System.Echo",code="OK"} 1"#))
            #expect(text.contains("crm_tls_handshake_failures_total 1\n"), "the good handshake is not counted")
            await connection.close()
        }
    }

    @Test("feed gauges: each consumer's lag in events and seconds, dead letters still open and the last sequence applied, by producer")
    func feedGauges() async throws {
        let temporary = try TemporaryFolder("crm-metrics")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let store = try Store(configuration: .init(path: temporary.path("s.sqlite")), migrator: DatabaseMigrator(), logger: logger)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try await store.write { db in
            for index in 1...5 {
                try ChangeLog.append(type: "thing.changed", entityKey: "E\(index)", payload: Crm_System_V1_EchoRequest(), atMilliseconds: now - 60_000, db)
            }
            try db.execute(sql: "INSERT INTO feed_consumer VALUES ('marketing', 2, ?), ('servicedesk', 5, ?)", arguments: [now, now])
            try db.execute(sql: "INSERT INTO feed_offset VALUES ('customer', 'e1', 7, ?)", arguments: [now])
            for (sequence, resolved) in [(3, nil), (4, nil), (5, now)] as [(Int, Int64?)] {
                try db.execute(
                    sql: "INSERT INTO feed_dead_letter (producer, epoch, sequence, entity_key, event, error, attempts, failed_at_ms, resolved_at_ms) VALUES ('customer', 'e1', ?, 'C1', x'', 'boom', 5, ?, ?)",
                    arguments: [sequence, now, resolved])
            }
        }
        let text = await Self.exposition(ServerMetrics(server: "test", version: "1"), store)
        #expect(text.contains(#"crm_feed_consumer_lag_events{consumer="marketing"} 3.0"#), "\(text)")
        #expect(text.contains(#"crm_feed_consumer_lag_events{consumer="servicedesk"} 0.0"#))
        #expect(text.contains(#"crm_feed_consumer_lag_seconds{consumer="servicedesk"} 0.0"#))
        let lagSeconds = text.split(separator: "\n").first { $0.hasPrefix(#"crm_feed_consumer_lag_seconds{consumer="marketing"}"#) }
        #expect(lagSeconds.flatMap { Double($0.split(separator: " ").last!) }.map { $0 >= 59 } == true, "the oldest unacknowledged event is a minute old")
        #expect(text.contains(#"crm_feed_dead_letters_open{producer="customer"} 2.0"#))
        #expect(text.contains(#"crm_feed_applied_sequence{producer="customer"} 7.0"#))
        #expect(text.contains("crm_sqlite_write_wait_seconds_count 0\n"), "a store opened without these metrics records its waits elsewhere")
    }
}
