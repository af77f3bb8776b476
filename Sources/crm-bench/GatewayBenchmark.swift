internal import ArgumentParser
internal import CustomerService
internal import Foundation
internal import Gateway
internal import Logging
internal import NIOCore
internal import NIOPosix
internal import ServiceLifecycle
internal import ServiceRuntime
internal import WireProtocol
internal import RPCTransport

/// `crm-bench gateway`: what the gateway costs. One process runs CustomerService (on a database
/// loaded by `load-customers`) behind internal mutual TLS and the gateway in front of it, then
/// calls Customer.Get directly (as the gateway does, with its internal certificate) and through
/// the gateway (with a caller certificate), in turns at each level of calls in flight. With
/// `--trickle N` it then measures the gateway path again while N connections trickle TLS handshake
/// bytes at it.
struct GatewayBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway", abstract: "Measure the gateway's overhead, and its latency under a slow-handshake flood.")

    @Option(help: "A CustomerService database made by load-customers.")
    var database = "var/bench/customer-100k.sqlite"

    @Option(help: "How many customers it holds.")
    var count = 100_000

    @Option(help: "Development PKI folder (scripts/dev-pki.sh).")
    var pki = "var/pki"

    @Option(help: "Seconds per measurement.")
    var duration = 5.0

    @Option(help: "Comma-separated calls in flight on the one connection.")
    var inFlight = "1,16,256"

    @Option(help: "Connections trickling handshake bytes during a final measurement (0: none).")
    var trickle = 0

    @Option(help: "The gateway's handshake timeout in milliseconds for the run.")
    var handshakeMs = 1_000

    func run() async throws {
        var logger = Logger(label: "crm-bench")
        logger.logLevel = .error
        ServerLauncher.bootstrapLogging()
        let store = try Store(configuration: .init(path: database, cacheMiB: 512), migrator: CustomerSchema.migrator, logger: logger)
        var router = RPCRouter()
        SystemHandlers.register(into: &router, serverName: "crm-customer", version: "bench")
        let accessLog = try AccessLog(path: AccessLog.defaultPath(besides: database), besides: store.configuration, logger: logger)
        CustomerHandlers.register(into: &router, store: store, accessLog: accessLog)
        let internalTLS = TLSSettings(certificateChainPath: "\(pki)/service.pem", privateKeyPath: "\(pki)/service.key", trustRootsPath: "\(pki)/internal-ca.pem")
        let service = RPCServer(
            configuration: .init(port: 0, tls: internalTLS, hello: Hello(maxConcurrentStreams: 4096), trustsCallerIdentity: true),
            router: router, logger: logger)
        let serviceGroup = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: logger)
        let serviceTask = Task { try await serviceGroup.run() }
        let servicePort = try await service.boundAddress().port!

        let configPath = FileManager.default.temporaryDirectory.appendingPathComponent("bench-gateway-\(UUID().uuidString).json").path
        let config: [String: Any] = [
            "listen": ["host": "127.0.0.1", "port": 0],
            "tls": ["certificate": "\(pki)/server.pem", "key": "\(pki)/server.key", "ca": "\(pki)/ca.pem", "crl": "\(pki)/ca.crl"],
            "limits": ["max_concurrent_calls": 4096],
            "timeouts": ["handshake_ms": handshakeMs],
            "backend_tls": ["certificate": "\(pki)/gateway-internal.pem", "key": "\(pki)/gateway-internal.key", "ca": "\(pki)/internal-ca.pem"],
            "backends": [["name": "customer", "services": [2], "instances": ["127.0.0.1:\(servicePort)"]]],
            "callers": [["identity": "client", "name": "bench", "role": "servicing", "allow": ["Customer.*"], "rate_per_second": 1e9, "burst": 1e9]],
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        defer { try? FileManager.default.removeItem(atPath: configPath) }
        let gateway = try GatewayServer(settings: try await GatewaySettings.load(file: configPath, environment: [:]), version: "bench", logger: logger)
        let gatewayGroup = ServiceGroup(services: [gateway.server, gateway.health], gracefulShutdownSignals: [], logger: logger)
        let gatewayTask = Task { try await gatewayGroup.run() }
        let gatewayPort = try await gateway.server.boundAddress().port!

        let hello = Hello(maxConcurrentStreams: 4096)
        let direct = try await RPCConnection.connect(
            host: "127.0.0.1", port: servicePort,
            options: .init(
                tls: TLSSettings(
                    certificateChainPath: "\(pki)/gateway-internal.pem", privateKeyPath: "\(pki)/gateway-internal.key",
                    trustRootsPath: "\(pki)/internal-ca.pem"),
                hello: hello))
        let viaGateway = try await RPCConnection.connect(
            host: "127.0.0.1", port: gatewayPort,
            options: .init(
                tls: TLSSettings(certificateChainPath: "\(pki)/client.pem", privateKeyPath: "\(pki)/client.key", trustRootsPath: "\(pki)/ca.pem"),
                hello: hello))

        var lines = [
            "Customer.Get on \(count) customers, one mutual-TLS connection, closed loop, \(duration) s per row",
            "| path | in flight | req/s | p50 us | p99 us | p99.9 us | max us | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        func row(_ path: String, _ level: Int, _ recorder: LatencyRecorder) {
            let line = recorder.markdownRow(path, inFlight: level)
            FileHandle.standardError.write(Data((line + "\n").utf8))
            lines.append(line)
        }
        let directCall = try CustomerBenchmark.call("get", count: count, connection: direct)
        let gatewayCall = try CustomerBenchmark.call("get", count: count, connection: viaGateway)
        _ = try await ClosedLoop.measure(inFlight: 4, duration: 1, directCall)
        _ = try await ClosedLoop.measure(inFlight: 4, duration: 1, gatewayCall)
        let levels = inFlight.split(separator: ",").compactMap { Int($0) }
        for level in levels {
            row("direct", level, try await ClosedLoop.measure(inFlight: level, duration: duration, directCall))
            row("gateway", level, try await ClosedLoop.measure(inFlight: level, duration: duration, gatewayCall))
        }
        if trickle > 0 {
            let attack = TrickleFlood(port: gatewayPort, connections: trickle)
            let attackTask = Task { await attack.run() }
            while attack.opened < trickle { try await Task.sleep(for: .milliseconds(100)) }
            for level in [1, 16] {
                row("gateway, \(trickle) trickling handshakes", level, try await ClosedLoop.measure(inFlight: level, duration: duration, gatewayCall))
            }
            attackTask.cancel()
            await attackTask.value
            lines.append(
                "\nTrickle flood: \(attack.opened) attacker connections opened, \(attack.closedByGateway) closed by the gateway's "
                    + "\(handshakeMs) ms handshake timeout (longest lived \(attack.longestMilliseconds) ms); \(trickle) kept pending at all times")
        }
        await direct.closeNow()
        await viaGateway.closeNow()
        await gatewayGroup.triggerGracefulShutdown()
        await serviceGroup.triggerGracefulShutdown()
        _ = await gatewayTask.result
        _ = await serviceTask.result
        print(lines.joined(separator: "\n"))
    }
}
