import Foundation
import Gateway
import Logging
import NIOCore
import ServiceLifecycle
import ServiceRuntime
import TestSupport
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// A gateway on a free loopback port in front of in-process backends, all over real mutual TLS:
/// callers present certificates of the test PKI (scripts/dev-pki.sh); the gateway reaches the
/// backends with its internal certificate. The configuration is a real JSON file, so reload tests
/// rewrite it and send the gateway a reload.
struct GatewayFixture: Sendable {
    let gateway: GatewayServer
    let port: Int
    let configPath: String
    let backends: [RPCServer]
    let backendGroups: [ServiceGroup]

    var pki: TestPKI { GatewayHarness.pki }

    /// A connection to the gateway as the holder of `certificate` (a name in the test PKI).
    func connect(as certificate: String = "client") async throws -> RPCConnection {
        try await RPCConnection.connect(
            host: "127.0.0.1", port: port,
            options: .init(tls: pki.clientCertificate(certificate), serverHostname: "localhost", keepaliveInterval: nil, connectTimeout: TestTimeouts.connect))
    }

    /// Stops backend `index` (a graceful drain, as on SIGTERM).
    func stopBackend(_ index: Int) async {
        await backendGroups[index].triggerGracefulShutdown()
    }

    /// Rewrites the configuration file with `change` applied, then reloads it as SIGHUP would.
    @discardableResult
    func reload(_ change: (inout [String: Any]) -> Void) async throws -> Bool {
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
        change(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: configPath))
        return await gateway.reload(from: configPath)
    }
}

enum GatewayHarness {
    static let pki: TestPKI = try! TestPKI.make()

    static let logger: Logger = {
        var logger = Logger(label: "gateway-test")
        logger.logLevel = .critical
        return logger
    }()

    /// core-banking may call CustomerService; reporting (known by its DNS alternative name) only
    /// Customer.Get; the certificates the TLS layer must refuse get policies too, so that a refusal
    /// is TLS's doing and not the policy's.
    static var defaultCallers: [[String: Any]] {
        var callers: [[String: Any]] = [
            ["identity": "client", "name": "core-banking", "role": "servicing", "allow": ["Customer.*"],
             "rate_per_second": 100_000.0, "burst": 100_000.0, "max_connections": 8],
            ["identity": "reporting.bank.internal", "name": "reporting", "role": "reporting", "allow": ["Customer.Get"]],
        ]
        for name in ["expired", "not-yet-valid", "server-only", "revoked", "stranger"] {
            callers.append(["identity": name, "name": name, "role": "servicing", "allow": ["*"]])
        }
        return callers
    }

    /// The backend behind the gateway: answers Customer.Get with what it was sent (in the
    /// customer id: backend, caller system, role, end user, timeout), sleeps first when the id is
    /// `sleep:MS`, waits while `gate` is closed when the id is `hold`, fails on `b1` for `flaky-not` (not processed) and `flaky-maybe` (maybe
    /// processed), fails Customer.Create on `b1` as maybe processed, and streams `count` feed events for Feed.Subscribe (`after_sequence` = count).
    static func probeRouter(name: String, calls: Recorder<Int>? = nil, gate: Recorder<Bool>? = nil) -> RPCRouter {
        var router = RPCRouter()
        SystemHandlers.register(into: &router, serverName: name, version: "test")
        router.register(CustomerMethods.get) { request, context in
            calls?.update { $0 += 1 }
            // The first backend fails "flaky-" requests, saying whether it acted on them.
            if name == "b1", request.id == "flaky-not" {
                throw RPCError(code: .unavailable, message: "shedding", reason: ErrorReason("OVERLOADED"), processing: .notProcessed)
            }
            if name == "b1", request.id == "flaky-maybe" {
                throw RPCError(code: .unavailable, message: "lost the write", reason: ErrorReason("STORAGE_LOST"))
            }
            if request.id == "hold", let gate {
                while !gate.value { try await Task.sleep(for: .milliseconds(5)) }
            }
            if request.id.hasPrefix("sleep:"), let ms = Int(request.id.dropFirst(6)) { try await Task.sleep(for: .milliseconds(ms)) }
            let metadata = context.metadata
            var response = Crm_Customer_V1_GetCustomerResponse()
            response.customer.id = [
                name, metadata.callerSystem ?? "-", metadata.callerRole ?? "-", metadata.endUser ?? "-",
                metadata.timeoutMilliseconds.map(String.init) ?? "-",
            ].joined(separator: "|")
            return response
        }
        router.register(CustomerMethods.create) { _, _ in
            calls?.update { $0 += 1 }
            guard name != "b1" else { throw RPCError(code: .unavailable, message: "lost the write", reason: ErrorReason("STORAGE_LOST")) }
            return Crm_Customer_V1_CreateCustomerResponse()
        }
        router.register(FeedMethods.subscribe) { request, writer, _ in
            for sequence in 1...max(request.afterSequence, 1) {
                var event = Crm_Feed_V1_ChangeEvent()
                event.sequence = sequence
                event.type = "probe.event"
                try await writer.write(event)
            }
        }
        return router
    }

    /// Runs `body` with a gateway in front of one backend per router.
    static func withGateway(
        backends routers: [RPCRouter] = [probeRouter(name: "b1")],
        callers: [[String: Any]] = defaultCallers,
        tweak: @Sendable (inout [String: Any]) -> Void = { _ in },
        _ body: @Sendable (GatewayFixture) async throws -> Void
    ) async throws {
        let backends = routers.map { router in
            RPCServer(
                configuration: .init(
                    port: 0,
                    tls: TLSSettings(
                        certificateChainPath: pki.path("service.pem"), privateKeyPath: pki.path("service.key"),
                        trustRootsPath: pki.path("internal-ca.pem")),
                    trustsCallerIdentity: true),
                router: router, logger: logger)
        }
        let groups = backends.map { ServiceGroup(services: [$0], gracefulShutdownSignals: [], logger: logger) }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for group in groups { tasks.addTask { try await group.run() } }
            defer { tasks.cancelAll() }
            var ports: [Int] = []
            for backend in backends { ports.append(try await backend.boundAddress().port!) }
            var config: [String: Any] = [
                "listen": ["host": "127.0.0.1", "port": 0],
                "tls": ["certificate": pki.path("server.pem"), "key": pki.path("server.key"), "ca": pki.path("ca.pem"), "crl": pki.path("ca.crl")],
                "backend_tls": [
                    "certificate": pki.path("gateway-internal.pem"), "key": pki.path("gateway-internal.key"), "ca": pki.path("internal-ca.pem"),
                ],
                "backends": [["name": "customer", "services": [2, 5], "instances": ports.map { "127.0.0.1:\($0)" }]],
                // Generous: at the suite's peak on a host whose other guests steal CPU, opening a
                // backend connection took over 3 s and marked the only instance down (NO_BACKEND).
                "health": ["interval_ms": 500, "timeout_ms": 10_000, "connect_timeout_ms": 20_000],
                // The server's default. At 2 s, a CI run whose machine was saturated by the
                // hostile-input and handshake-flood suites had the gateway close several test
                // clients before their TLS handshake finished (CONNECTION_FAILED, uncleanShutdown);
                // the timeout itself is tested in GatewayHandshakeFloodTests and HostileInputTests.
                "timeouts": ["handshake_ms": 10_000],
                "callers": callers,
            ]
            tweak(&config)
            let configPath = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-\(UUID().uuidString).json").path
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
            defer { try? FileManager.default.removeItem(atPath: configPath) }

            let settings = try await GatewaySettings.load(file: configPath, environment: [:])
            let gateway = try GatewayServer(settings: settings, version: "test", logger: logger)
            let gatewayGroup = ServiceGroup(
                services: [gateway.server, gateway.health], gracefulShutdownSignals: [], logger: logger)
            tasks.addTask { try await gatewayGroup.run() }
            let port = try await gateway.server.boundAddress().port!
            let fixture = GatewayFixture(
                gateway: gateway, port: port, configPath: configPath, backends: backends, backendGroups: groups)
            do {
                try await body(fixture)
            } catch {
                await gatewayGroup.triggerGracefulShutdown()
                for group in groups { await group.triggerGracefulShutdown() }
                throw error
            }
            await gatewayGroup.triggerGracefulShutdown()
            for group in groups { await group.triggerGracefulShutdown() }
            try await tasks.waitForAll()
        }
    }

    static func getRequest(_ id: String = "C1") -> Crm_Customer_V1_GetCustomerRequest {
        var request = Crm_Customer_V1_GetCustomerRequest()
        request.id = id
        return request
    }
}
