// crm-servicedesk: ServiceDeskService, complaints and service requests with SLA clocks in business
// time. Reads its configuration (a JSON file given by --config, then CRM_ environment
// variables; docs/OPERATIONS.md), opens var/data/servicedesk.sqlite by default, listens on 7103,
// sweeps the SLA clocks every 15 s, applies the customer feed (feeds.customer.address) to its
// customer mirror, and drains on SIGTERM.
import Foundation
import ServiceDeskService
import ServiceRuntime

#if canImport(Glibc)
import Glibc
#endif

let configFile = ServerLauncher.configFileArgument(name: "crm-servicedesk")

let settings = await ServerLauncher.loadSettingsOrExit(
    file: configFile,
    defaults: ServerSettings(
        server: .init(port: 7103),
        database: .init(path: "var/data/servicedesk.sqlite")))
let desk = CaseDesk()
do {
    try await ServerLauncher.run(
        name: "crm-servicedesk", version: "0.1.0", settings: settings, configFile: configFile, migrator: ServiceDeskSchema.migrator, databaseGauges: SLAMetrics.gauges,
        backgroundServices: { store, logger in [SLASweeper.job(store: store, desk: desk, logger: logger)] },
        consumes: ["customer": CustomerMirror(desk: desk).apply]
    ) { router, store, _ in
        ServiceDeskHandlers.register(into: &router, store: store, desk: desk)
    }
} catch let error as ConfigurationError {
    // A consumed feed without its producer's address.
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(ServerLauncher.configurationErrorExitCode)
} catch {
    // One line for the journal (a port in use, an unreadable database), not a crash report.
    print("crm-servicedesk: cannot run: \(error)")
    exit(1)
}
