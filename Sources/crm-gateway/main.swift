// crm-gateway: the one door for other bank systems. Mutual TLS, caller policies, limits
// and routing, from the JSON file given by --config (docs/OPERATIONS.md); SIGHUP reloads the
// certificates, CRLs and caller policies; SIGTERM drains.
import Foundation
import Gateway
import Logging
import ServiceLifecycle
import ServiceRuntime
import UnixSignals
internal import RPCTransport

let name = "crm-gateway"
let start = ServerStart.parse(name: name)
guard let configFile = start.configFile else {
    FileHandle.standardError.write(Data("\(name): --config FILE is required (the caller policies live there)\n".utf8))
    exit(64)
}

let settings: GatewaySettings
do {
    settings = try await GatewaySettings.load(file: configFile, environment: ProcessInfo.processInfo.environment)
    // Everything the listener and the forwarding will load, checked before anything starts.
    if let tls = settings.server.server.tls { try StartChecks.tls(tls, keys: "tls", server: true) }
    if let tls = settings.backendTLS { try StartChecks.tls(tls, keys: "backend_tls", server: false) }
    _ = try GatewayServer.loadRevocations(settings)
    try await ServerLauncher.checkPorts(settings.server)
} catch {
    ServerLauncher.exit(name: name, for: error)
}
if start.checkOnly { ServerLauncher.configurationChecked(name: name, file: configFile) }

ServerLauncher.bootstrapLogging()
var logger = Logger(label: name)
logger.logLevel = settings.server.logLevel
do {
    let gateway = try GatewayServer(settings: settings, version: BuildVersion.current, logger: logger)
    // The admin listener first: the service group stops in reverse order, so it goes last.
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
    if let admin = settings.server.admin {
        let checks = AdminServer.Checks(metrics: { await gateway.scrapeMetrics() }, ready: { try await gateway.checkReady() })
        services.append(.init(service: AdminServer(host: admin.host, port: admin.port, checks: checks, logger: logger)))
    }
    services += gateway.services(configurationFile: configFile).map { .init(service: $0) }
    if let notifier = SystemdNotifier() {
        services.append(
            .init(
                service: SystemdLifecycle(
                    notifier: notifier, watchdogInterval: SystemdNotifier.watchdogInterval(),
                    ready: { _ = try await gateway.server.boundAddress() },
                    // An event loop answers within a second (the gateway has no database).
                    healthy: { try await HealthChecks.eventLoopAnswers() },
                    logger: logger)))
    }
    let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
    logger.info("stopped")
} catch {
    ServerLauncher.exit(name: name, for: error)
}
