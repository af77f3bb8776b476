internal import Foundation
public import Logging
internal import NIOCore
internal import NIOPosix
public import ServiceLifecycle
public import ServiceRuntime
internal import SwiftASN1
internal import UnixSignals
internal import WireProtocol
internal import X509

/// The gateway assembled from its settings: the TLS listener with caller admission, the local
/// System methods, a forwarding handler per routed method, the backend pools and their health
/// checks, and the SIGHUP reload of certificates, CRLs and caller policies.
public final class GatewayServer: Sendable {
    public let server: RPCServer
    public let callers: CallerRegistry
    public let admission: GatewayAdmission
    public let pools: [BackendPool]
    public let health: HealthChecker
    private let logger: Logger

    public init(settings: GatewaySettings, name: String = "crm-gateway", version: String, logger: Logger) throws {
        self.logger = logger
        callers = CallerRegistry(policies: settings.callers, logger: logger)
        admission = GatewayAdmission(callers: callers, revocations: try Self.loadRevocations(settings), logger: logger)
        let backendOptions = RPCConnection.Options(tls: settings.backendTLS, connectTimeout: .seconds(3))
        pools = settings.backends.map { backend in
            BackendPool(
                name: backend.name, serviceIDs: backend.services, instances: backend.instances.map { ($0.host, $0.port) },
                options: backendOptions)
        }
        health = HealthChecker(pools: pools, interval: settings.healthInterval, timeout: settings.healthTimeout, logger: logger)

        var router = RPCRouter()
        SystemHandlers.register(into: &router, serverName: name, version: version)
        Forwarder(callers: callers, pools: pools, logger: logger).register(into: &router)
        var configuration = settings.server.server
        // The forwarder replaces the caller fields itself (and keeps the end user the calling
        // system reports), so the listener hands them over rather than dropping them.
        configuration.trustsCallerIdentity = true
        configuration.admission = admission
        server = RPCServer(configuration: configuration, router: router, logger: logger)
    }

    /// The services to run in a `ServiceGroup`: the listener, the health checks, the SIGHUP reload.
    public func services(configurationFile: String) -> [any Service] {
        [server, health, ReloadOnHangup(gateway: self, file: configurationFile)]
    }

    /// Puts the certificate, key, client CA, CRLs and caller policies of `file` in force for new
    /// connections and calls, keeping open connections. All or nothing: if anything in the new
    /// file is wrong, it logs why and the configuration in force stays.
    ///
    /// Listen address, limits, timeouts and backends are read at start only.
    @discardableResult
    public func reload(from file: String) async -> Bool {
        do {
            let settings = try await GatewaySettings.load(file: file, environment: ProcessInfo.processInfo.environment)
            let revocations = try Self.loadRevocations(settings)
            try server.reloadTLS(settings.server.server.tls!)  // the last step that can fail
            admission.replaceRevocations(revocations)
            callers.replace(settings.callers)
            logger.notice(
                "configuration reloaded",
                metadata: ["callers": "\(settings.callers.callers.count)", "crls": "\(revocations.count)", "file": "\(file)"])
            return true
        } catch {
            logger.error("configuration reload refused; the previous one stays in force", metadata: ["error": "\(error)", "file": "\(file)"])
            return false
        }
    }

    /// For the systemd watchdog: an event loop runs a task within a second.
    public func eventLoopAnswers() async throws {
        try await withDeadline(.seconds(1)) { try await MultiThreadedEventLoopGroup.singleton.next().submit {}.get() }
    }

    static func loadRevocations(_ settings: GatewaySettings) throws -> [RevocationList] {
        guard let path = settings.crlPath else { return [] }
        let caFile = settings.server.server.tls!.trustRootsPath
        guard let text = try? String(contentsOfFile: caFile, encoding: .utf8) else { throw CRLError("cannot read client CA \(caFile)") }
        let authorities = try PEMDocument.parseMultiple(pemString: text).map { try Certificate(derEncoded: $0.derBytes) }
        return try RevocationList.load(file: path, authorities: authorities)
    }
}

/// Reloads the gateway's configuration on SIGHUP, telling systemd (RELOADING=1, then READY=1).
struct ReloadOnHangup: Service {
    let gateway: GatewayServer
    let file: String

    func run() async throws {
        let notifier = SystemdNotifier()
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            notifier?.notify("RELOADING=1\nMONOTONIC_USEC=\(Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000)")
            await gateway.reload(from: file)
            notifier?.notify("READY=1")
        }
    }
}
