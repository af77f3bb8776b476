import Foundation
import GRDB
import NIOCore
import ServiceRuntime
import Synchronization
import Testing
import TestSupport
import WireProtocol
internal import RPCTransport

/// The whole system as operators run it: the four real executables on free loopback ports, each with
/// its own data folder and configuration file, internal mutual TLS between them and the gateway's
/// mutual TLS in front, from a throw-away PKI. Tests call through the gateway as the callers of its
/// policy, kill and restart servers, and read the databases afterwards.
///
/// Every process is stopped when the test ends, however it ends: `shutdown()` drains them, and a
/// process still running when the system is released is killed (``ServerProcess``'s deinit).
final class CRMSystem: Sendable {
    enum Server: String, CaseIterable, Sendable {
        case customer, servicedesk, marketing, gateway
        var executable: String { "crm-\(rawValue)" }
    }

    /// Callers in the gateway's policy, each a certificate of the test PKI.
    enum Caller: String, Sendable {
        /// The call centre: role `servicing`, every method.
        case callCentre = "client"
        /// Reporting, known by its DNS name: role `reporting` (names, numbers and addresses partly
        /// masked, e-mail and birth date withheld), read methods only.
        case reporting = "san-client"
    }

    let temporary: TemporaryFolder
    let pki: TestPKI
    let ports: [Server: Int]
    private let running = Mutex<[Server: ServerProcess]>([:])

    private init(temporary: TemporaryFolder, pki: TestPKI, ports: [Server: Int]) {
        self.temporary = temporary
        self.pki = pki
        self.ports = ports
    }

    /// Starts the four servers and waits until each is ready (its admin listener says so).
    static func start() async throws -> CRMSystem {
        var ports: [Server: Int] = [:]
        for server in Server.allCases { ports[server] = try await FeedProcessTests.freePort() }
        let system = CRMSystem(temporary: try TemporaryFolder("crm-system"), pki: GatewayHarness.pki, ports: ports)
        for server in Server.allCases { try system.writeConfiguration(server) }
        for server in Server.allCases { try await system.start(server) }
        return system
    }

    /// The database file of a service.
    func database(_ server: Server) -> String { temporary.path("\(server.rawValue).sqlite") }

    /// A client of the gateway holding `caller`'s certificate.
    func client(_ caller: Caller = .callCentre) -> RPCClient {
        RPCClient(
            configuration: .init(
                host: "127.0.0.1", port: ports[.gateway]!,
                options: .init(tls: pki.clientCertificate(caller.rawValue), serverHostname: "localhost", connectTimeout: TestTimeouts.connect),
                initialBackoff: .milliseconds(50), maximumBackoff: .milliseconds(500), maximumAttempts: 20))
    }

    func process(_ server: Server) -> ServerProcess? { running.withLock { $0[server] } }

    /// Starts `server` (again) and waits until its readiness check passes.
    func start(_ server: Server) async throws {
        let (process, _) = try await ServerProcess.start(
            server.executable, ["--config", temporary.path("\(server.rawValue).json")], directory: temporary.url)
        running.withLock { $0[server] = process }
        let admin = try await process.waitForAdminPort()
        for _ in 0..<300 {
            if let ready = try? await AdminEndpointTests.request(port: admin, "/health/ready"), ready.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ServerProcessError(message: "\(server.executable) never became ready:\n\(process.log)")
    }

    /// SIGKILL, as a crash would.
    func kill(_ server: Server) async {
        await process(server)?.kill()
    }

    /// Drains and stops every server; returns their exit statuses.
    @discardableResult
    func shutdown() async -> [Server: Int32] {
        var statuses: [Server: Int32] = [:]
        for server in Server.allCases.reversed() {
            if let process = process(server), process.process.isRunning { statuses[server] = await process.stop() }
        }
        return statuses
    }

    /// Stops every server and records an issue for each that did not exit 0, with the end of its log.
    func expectCleanShutdown(sourceLocation: SourceLocation = #_sourceLocation) async {
        for (server, status) in await shutdown() where status != 0 {
            let tail = (process(server)?.log ?? "").split(separator: "\n").suffix(30).joined(separator: "\n")
            Issue.record("\(server.executable) exited with status \(status); the end of its log:\n\(tail)", sourceLocation: sourceLocation)
        }
    }

    /// Reads a service's database, read-only, beside its running server.
    func read<T: Sendable>(_ server: Server, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        var configuration = Configuration()
        configuration.readonly = true
        return try await DatabaseQueue(path: database(server), configuration: configuration).read(body)
    }

    /// `PRAGMA integrity_check` of a service's database (the server may be running).
    func integrity(_ server: Server) async throws -> [String] {
        try await read(server) { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    /// Every `table.column` of a service's database (change log and FTS tables included) holding
    /// `text` anywhere in its bytes.
    func places(_ server: Server, holding text: String) async throws -> [String] {
        try await read(server) { db in
            var found: [String] = []
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            for table in tables {
                for column in try Row.fetchAll(db, sql: "PRAGMA table_info(\"\(table)\")").map({ $0["name"] as String }) {
                    let hits = try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM \"\(table)\" WHERE instr(CAST(\"\(column)\" AS BLOB), CAST(? AS BLOB)) > 0", arguments: [text]) ?? 0
                    if hits > 0 { found.append("\(table).\(column)") }
                }
            }
            return found
        }
    }

    // MARK: Configuration

    private func writeConfiguration(_ server: Server) throws {
        let internalTLS: [String: Any] = [
            "certificate": pki.path("service.pem"), "key": pki.path("service.key"), "ca": pki.path("internal-ca.pem"),
        ]
        let feedTLS: [String: Any] = [
            "certificate": pki.path("feed-client.pem"), "key": pki.path("feed-client.key"), "ca": pki.path("internal-ca.pem"),
        ]
        func address(_ server: Server) -> [String: Any] { ["address": "127.0.0.1:\(ports[server]!)"] }
        var configuration: [String: Any] = [
            "listen": ["host": "127.0.0.1", "port": ports[server]!],
            "admin": ["port": 0],
            // The servers' handshake wait as generous as the clients' (TestTimeouts): at the suite's peak a
            // TLS handshake on this loaded host took longer than the 5 s default.
            "timeouts": ["drain_ms": 5_000, "handshake_ms": 30_000],
        ]
        switch server {
        case .customer:
            configuration["feeds"] = ["servicedesk": address(.servicedesk), "marketing": address(.marketing), "tls": feedTLS]
        case .servicedesk:
            configuration["feeds"] = ["customer": address(.customer), "tls": feedTLS]
        case .marketing:
            configuration["feeds"] = ["customer": address(.customer), "servicedesk": address(.servicedesk), "tls": feedTLS]
        case .gateway:
            configuration["tls"] = [
                "certificate": pki.path("server.pem"), "key": pki.path("server.key"), "ca": pki.path("ca.pem"), "crl": pki.path("ca.crl"),
            ]
            configuration["backend_tls"] = [
                "certificate": pki.path("gateway-internal.pem"), "key": pki.path("gateway-internal.key"), "ca": pki.path("internal-ca.pem"),
            ]
            configuration["backends"] = [
                ["name": "customer", "services": [2, 5], "instances": ["127.0.0.1:\(ports[.customer]!)"]],
                ["name": "marketing", "services": [3], "instances": ["127.0.0.1:\(ports[.marketing]!)"]],
                ["name": "servicedesk", "services": [4], "instances": ["127.0.0.1:\(ports[.servicedesk]!)"]],
            ]
            configuration["health"] = ["interval_ms": 200, "timeout_ms": 1_000]
            configuration["callers"] = [
                ["identity": "client", "name": "call-centre", "role": "servicing", "allow": ["*"], "rate_per_second": 100_000, "burst": 100_000],
                [
                    "identity": "reporting.bank.internal", "name": "reporting", "role": "reporting",
                    "allow": [
                        "Customer.Search", "Customer.Get", "Customer.GetView", "Customer.GetHousehold", "Customer.ListAudit", "Feed.Subscribe",
                        "ServiceDesk.GetCase", "ServiceDesk.ListCases",
                    ],
                ],
            ]
            // Each of the three treatments for some field; e-mail and birth date withheld.
            configuration["roles"] = [
                "reporting": [
                    "name": "partial", "birth_date": "withheld", "document": "partial", "phone": "partial", "email": "withheld", "address": "partial",
                ]
            ]
        }
        if server != .gateway {
            configuration["tls"] = internalTLS
            configuration["callers"] = ["trust_identity": true]
            configuration["database"] = ["path": database(server)]
        }
        try JSONSerialization.data(withJSONObject: configuration).write(to: temporary.url.appendingPathComponent("\(server.rawValue).json"))
    }
}
