import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GRDB
import ServiceRuntime
import TestSupport
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// The admin listener of a real server process: Prometheus metrics that count what callers did,
/// liveness, and readiness that turns false while the database cannot be written.
@Suite("Admin listener", .serialized)
struct AdminEndpointTests {
    struct HTTPAnswer {
        var status: Int
        var body: String
    }

    static func request(_ method: String = "GET", port: Int, _ path: String) async throws -> HTTPAnswer {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 10
        let (data, response) = try await URLSession.shared.data(for: request)
        return HTTPAnswer(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: String(decoding: data, as: UTF8.self))
    }

    /// The value of one exposition line (`name{labels} value`), or nil if the line is absent.
    static func value(_ exposition: String, _ series: String) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test("metrics count calls by method and code, with latency, connections and write waits; live and ready answer; other paths and verbs are refused")
    func metricsAndProbes() async throws {
        let temporary = try TemporaryFolder("crm-admin")
        let folder = temporary.url
        let path = folder.appendingPathComponent("customer.sqlite").path
        let (server, port) = try await ServerProcess.start(
            "crm-customer", environment: ["CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": path], directory: folder)
        let admin = try await server.waitForAdminPort()
        #expect(admin != port)

        let client = RPCClient(configuration: .loopback(port: port))
        for _ in 0..<3 { _ = try await client.unary(SystemMethods.health, Crm_System_V1_HealthRequest()) }
        var create = Crm_Customer_V1_CreateCustomerRequest()
        create.profile.kind = .individual
        create.profile.individual.nameLatin = "Metric Person"
        _ = try await client.unary(CustomerMethods.create, create)
        // A request the service refuses: counted under its code.
        await #expect(throws: RPCError.self) { _ = try await client.unary(CustomerMethods.create, Crm_Customer_V1_CreateCustomerRequest()) }

        let metrics = try await Self.request(port: admin, "/metrics")
        #expect(metrics.status == 200)
        let text = metrics.body
        #expect(Self.value(text, #"crm_rpc_requests_total{method="System.Health",code="OK"}"#) == 3, "\(text)")
        #expect(Self.value(text, #"crm_rpc_requests_total{method="Customer.Create",code="OK"}"#) == 1)
        #expect(Self.value(text, #"crm_rpc_requests_total{method="Customer.Create",code="INVALID_ARGUMENT"}"#) == 1)
        #expect(Self.value(text, #"crm_rpc_request_duration_seconds_count{method="System.Health"}"#) == 3)
        #expect(Self.value(text, #"crm_rpc_request_duration_seconds_bucket{method="System.Health",le="+Inf"}"#) == 3)
        #expect(Self.value(text, "crm_rpc_in_flight_calls") == 0)
        #expect(Self.value(text, "crm_connections_open") == 1, "the client's one connection")
        #expect((Self.value(text, "crm_sqlite_write_wait_seconds_count") ?? 0) >= 1, "the create waited for the writer, however briefly")
        #expect(Self.value(text, #"crm_build_info{server="crm-customer",version="\#(BuildVersion.current)"}"#) == 1)
        #expect(text.contains("# TYPE crm_rpc_request_duration_seconds histogram"))

        #expect(try await Self.request(port: admin, "/health/live").status == 200)
        let ready = try await Self.request(port: admin, "/health/ready")
        #expect(ready.status == 200 && ready.body == "ready\n")
        #expect(try await Self.request(port: admin, "/nothing").status == 404)
        #expect(try await Self.request("POST", port: admin, "/metrics").status == 405)

        // Another process holds the write lock: not ready, saying why; ready again once it is free.
        var holding = Configuration()
        holding.allowsUnsafeTransactions = true  // the lock is kept between two accesses on purpose
        let holder = try DatabaseQueue(path: path, configuration: holding)
        try await holder.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        let stalled = try await Self.request(port: admin, "/health/ready")
        try await holder.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
        #expect(stalled.status == 503)
        #expect(stalled.body.contains("write lock"), "\(stalled.body)")
        #expect(try await Self.request(port: admin, "/health/live").status == 200, "alive all the same")
        // The probe that timed out still waits its turn; ready again as soon as it had it.
        var readyAgain = false
        for _ in 0..<50 where !readyAgain {
            readyAgain = try await Self.request(port: admin, "/health/ready").status == 200
            if !readyAgain { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(readyAgain)

        await client.close()
        #expect(await server.stop() == 0)
    }

    @Test("admin.enabled false opens no admin listener; a bad admin.port is a configuration error naming the key")
    func configuration() async throws {
        let temporary = try TemporaryFolder("crm-admin")
        let folder = temporary.url
        let path = folder.appendingPathComponent("customer.sqlite").path
        let (server, _) = try await ServerProcess.start(
            "crm-customer", environment: ["CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": path, "CRM_ADMIN_ENABLED": "false"], directory: folder)
        try await Task.sleep(for: .milliseconds(300))
        #expect(server.adminPort == nil)
        #expect(await server.stop() == 0)

        let bad = try await Executables.run(
            "crm-customer", [], environment: ["CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": path, "CRM_ADMIN_PORT": "70000"], directory: folder)
        #expect(bad.status == 78)
        #expect(bad.stderr.contains("admin.port"))
    }
}
