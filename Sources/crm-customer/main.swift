// crm-customer: CustomerService, the bank's customer master data. Reads its configuration
// (a JSON file given by --config, then CRM_ environment variables; docs/OPERATIONS.md), opens
// var/data/customer.sqlite and its access log var/data/customer-access.sqlite by default, listens
// on 7101 and drains on SIGTERM.
import CustomerService
import ServiceRuntime

#if canImport(Glibc)
import Glibc
#endif

let configFile = ServerLauncher.configFileArgument(name: "crm-customer")

let settings = await ServerLauncher.loadSettingsOrExit(
    file: configFile,
    defaults: ServerSettings(
        // Handlers on the event loop: a view's answer no longer hops to a pool thread and back,
        // 1.4 to 3.7 context switches and 80 to 280 us of CPU fewer a view at one in flight, and
        // no more CPU a view at 256 (docs/BENCHMARKS.md "Handlers on the loop in crm-customer").
        server: .init(port: 7101, unaryHandlersOnEventLoop: true),
        database: .init(path: "var/data/customer.sqlite")))
/// Runs the server until it drains. A function rather than top-level code: the access log is
/// opened with the handlers (once logging is set up) and its checkpoint job then runs beside them,
/// and a variable of top-level code would belong to the main actor, which the launcher's closures
/// do not run on.
func serve(_ settings: ServerSettings, configFile: String?) async throws {
    var accessLog: AccessLog?
    try await ServerLauncher.run(
        name: "crm-customer", version: "0.2.0", settings: settings, configFile: configFile, migrator: CustomerSchema.migrator,
        backgroundServices: { _, logger in accessLog.map { [$0.checkpointJob(logger: logger)] } ?? [] },
        // Case and opportunity summaries and contact history for the customer view, from ServiceDesk
        // and Marketing when they are configured.
        consumesIfConfigured: ["servicedesk": CaseSummaries.apply, "marketing": OpportunitySummaries.apply]
    ) { router, store, logger in
        // Reads of unmasked personal data are audited in a database file of their own beside the
        // customer database (customer.sqlite -> customer-access.sqlite).
        let log = try AccessLog(path: AccessLog.defaultPath(besides: store.configuration.path), besides: store.configuration, logger: logger)
        accessLog = log
        CustomerHandlers.register(into: &router, store: store, accessLog: log)
    }
}

do {
    try await serve(settings, configFile: configFile)
} catch {
    // One line for the journal (a port in use, an unreadable database), not a crash report.
    print("crm-customer: cannot run: \(error)")
    exit(1)
}
