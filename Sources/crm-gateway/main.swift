// crm-gateway: the one door for other bank systems. Mutual TLS, caller policies, limits
// and routing, from the JSON file given by --config (docs/OPERATIONS.md); SIGHUP reloads the
// certificates, CRLs and caller policies; SIGTERM drains.
import Foundation
import Gateway
import Logging
import ServiceLifecycle
import ServiceRuntime
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard let index = arguments.firstIndex(of: "--config"), index + 1 < arguments.count else {
    print("usage: crm-gateway --config FILE")
    exit(arguments.contains("--help") || arguments.contains("-h") ? 0 : 64)
}
let configFile = arguments[index + 1]

let settings: GatewaySettings
do {
    settings = try await GatewaySettings.load(file: configFile, environment: ProcessInfo.processInfo.environment)
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(ServerLauncher.configurationErrorExitCode)
}

ServerLauncher.bootstrapLogging()
var logger = Logger(label: "crm-gateway")
logger.logLevel = settings.server.logLevel
do {
    let gateway = try GatewayServer(settings: settings, version: "0.3.0", logger: logger)
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
    print("crm-gateway: cannot run: \(error)")
    exit(1)
}
