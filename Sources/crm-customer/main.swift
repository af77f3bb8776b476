// crm-customer: CustomerService, the bank's customer master data. Reads its configuration
// (a JSON file given by --config, then CRM_ environment variables; docs/OPERATIONS.md), opens the
// database at database.path and its access log beside it (customer.sqlite ->
// customer-access.sqlite), listens on 7101 and drains on SIGTERM.
import CustomerService
import ServiceRuntime
internal import RPCTransport

let (settings, configFile) = await ServerLauncher.prepare(
    name: "crm-customer",
    defaults: ServerSettings(
        // Handlers on the event loop: a view's answer no longer hops to a pool thread and back,
        // 1.4 to 3.7 context switches and 80 to 280 us of CPU fewer a view at one in flight, and
        // no more CPU a view at 256 (the history of docs/BENCHMARKS.md, "Handlers on the loop in crm-customer").
        server: .init(port: 7101, unaryHandlersOnEventLoop: true),
        database: .init(path: "")),
    consumesIfConfigured: ["servicedesk", "marketing"])
/// Runs the server until it drains. A function rather than top-level code: the access log is
/// opened with the handlers (once logging is set up) and its checkpoint job then runs beside them,
/// and a variable of top-level code would belong to the main actor, which the launcher's closures
/// do not run on.
func serve(_ settings: ServerSettings, configFile: String?) async throws {
    var accessLog: AccessLog?
    try await ServerLauncher.run(
        name: "crm-customer", settings: settings, configFile: configFile, migrator: CustomerSchema.migrator,
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
    ServerLauncher.exit(name: "crm-customer", for: error)
}
