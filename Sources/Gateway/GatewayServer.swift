internal import Foundation
public import Logging
internal import NIOCore
internal import NIOPosix
public import ServiceLifecycle
public import ServiceRuntime
internal import SwiftASN1
internal import WireProtocol
internal import X509
public import RPCTransport

/// The gateway assembled from its settings: the TLS listener with caller admission, the local
/// System methods, a forwarding handler per routed method, the backend pools and their health
/// checks, and the SIGHUP reload of certificates, CRLs and caller policies.
public final class GatewayServer: Sendable {
    public let server: RPCServer
    public let callers: CallerRegistry
    public let admission: GatewayAdmission
    public let pools: [BackendPool]
    public let health: HealthChecker
    public let metrics: ServerMetrics
    private let logger: Logger
    /// The settings read at start, against which a reload tells which changes wait for a restart.
    private let started: GatewaySettings

    public init(settings: GatewaySettings, name: String = "crm-gateway", version: String, logger: Logger) throws {
        self.logger = logger
        started = settings
        metrics = ServerMetrics(server: name, version: version)
        callers = CallerRegistry(policies: settings.callers, logger: logger)
        admission = GatewayAdmission(callers: callers, revocations: try Self.loadRevocations(settings), logger: logger)
        let backendOptions = RPCConnection.Options(tls: settings.backendTLS, connectTimeout: settings.backendConnectTimeout)
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
        // Forwarding only awaits the backend: no reason to wake a pool thread for each call.
        configuration.unaryHandlersOnEventLoop = true
        server = RPCServer(configuration: configuration, router: router, logger: logger, metrics: metrics)
    }

    /// The services to run in a `ServiceGroup`: the listener, the health checks, the SIGHUP reload.
    public func services(configurationFile: String) -> [any Service] {
        [server, health, ReloadOnHangup { [self] in await self.reload(from: configurationFile) }]
    }

    /// Puts the certificate, key, client CA, CRLs and caller policies of `file` in force for new
    /// connections and calls, keeping open connections. All or nothing: if anything in the new
    /// file is wrong, it logs why and the configuration in force stays.
    ///
    /// Listen address, limits, timeouts, backends, health checks and log level are read at start
    /// only; a reload that changes them warns, naming the keys.
    @discardableResult
    public func reload(from file: String) async -> Bool {
        do {
            let settings = try await GatewaySettings.load(file: file, environment: ProcessInfo.processInfo.environment)
            let revocations = try Self.loadRevocations(settings)
            let previous = admission.replaceRevocations(revocations)
            do {
                try server.reloadTLS(settings.server.server.tls!)  // the last step that can fail
            } catch {
                admission.replaceRevocations(previous)
                throw error
            }
            callers.replace(settings.callers)
            // Connections opened before a certificate was revoked end now, with the reason.
            let closed = await server.closeConnections(
                error: RPCError(
                    code: .unauthenticated, message: "the client certificate was revoked", reason: .certificateRevoked,
                    processing: .notProcessed),
                where: { [admission] in admission.isRevoked($0) })
            if closed > 0 { logger.warning("closed connections of revoked certificates", metadata: ["connections": "\(closed)"]) }
            logger.notice(
                "configuration reloaded",
                metadata: ["callers": "\(settings.callers.callers.count)", "crls": "\(revocations.count)", "file": "\(file)"])
            let waiting = Self.restartOnlyChanges(from: started, to: settings)
            if !waiting.isEmpty {
                logger.warning(
                    "configuration changes that take effect only after a restart",
                    metadata: ["keys": "\(waiting.joined(separator: ","))", "file": "\(file)"])
            }
            return true
        } catch {
            logger.error("configuration reload refused; the previous one stays in force", metadata: ["error": "\(error)", "file": "\(file)"])
            return false
        }
    }

    /// The keys read only at start whose values differ between the two.
    static func restartOnlyChanges(from old: GatewaySettings, to new: GatewaySettings) -> [String] {
        var keys = ServerSettings.restartOnlyChanges(from: old.server, to: new.server)
        if old.server.logLevel != new.server.logLevel { keys.append("log.level") }
        if old.backends != new.backends { keys.append("backends") }
        if old.backendTLS != new.backendTLS { keys.append("backend_tls") }
        if (old.healthInterval, old.healthTimeout, old.backendConnectTimeout) != (new.healthInterval, new.healthTimeout, new.backendConnectTimeout) {
            keys.append("health")
        }
        return keys
    }

    /// The exposition text, with each backend instance's health and calls in flight as of now.
    public func scrapeMetrics() async -> [UInt8] {
        for pool in pools {
            for instance in pool.instances {
                let labels = [("pool", pool.name), ("instance", instance.address)]
                metrics.setGauge(
                    "gateway_backend", unit: "up", help: "1 while the backend instance passes its health checks.", labels: labels,
                    to: instance.isUp ? 1 : 0)
                metrics.setGauge(
                    "gateway_backend", unit: "in_flight", help: "Calls forwarded to the backend instance and not yet answered.",
                    labels: labels, to: Double(instance.inFlight))
            }
        }
        for list in admission.revocationsInForce {
            guard let nextUpdate = list.nextUpdate else { continue }
            metrics.setGauge(
                "gateway_crl_next_update", unit: "timestamp_seconds",
                help: "When the CRL in force for the client CA is due to be replaced (Unix time); past it, every certificate of that CA is refused.",
                labels: [("issuer", "\(list.issuer)")], to: nextUpdate.timeIntervalSince1970)
        }
        return await metrics.scrape(nil)
    }

    /// Ready while the listener is bound and not draining, and an event loop answers. Backends
    /// down do not make the gateway unready: it still answers, with UNAVAILABLE, and says which.
    public func checkReady() async throws {
        _ = try await server.boundAddress()
        if server.isDraining { throw NotReady("draining") }
        try await HealthChecks.eventLoopAnswers()
    }

    /// The CRLs of `tls.crl`, each checked against the client CA that issued it, one in force for
    /// every client CA; a problem is a configuration error naming `tls.crl`.
    public static func loadRevocations(_ settings: GatewaySettings) throws(ConfigurationError) -> [RevocationList] {
        guard let path = settings.crlPath else { return [] }
        let caFile = settings.server.server.tls!.trustRootsPath
        do {
            guard let text = try? String(contentsOfFile: caFile, encoding: .utf8) else { throw CRLError("cannot read client CA \(caFile)") }
            let authorities = try PEMDocument.parseMultiple(pemString: text).map { try Certificate(derEncoded: $0.derBytes) }
            let lists = try RevocationList.load(file: path, authorities: authorities)
            try RevocationList.checkCoverage(lists, authorities: authorities)
            return lists
        } catch {
            throw ConfigurationError(key: "tls.crl", message: "\(error)")
        }
    }
}
