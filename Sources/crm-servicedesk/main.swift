// crm-servicedesk: ServiceDeskService, complaints and service requests with SLA clocks in business
// time. Reads its configuration (a JSON file given by --config, then CRM_ environment
// variables; docs/OPERATIONS.md), opens the database at database.path, listens on 7103, sweeps the
// SLA clocks every 15 s, applies the customer feed (feeds.customer.address, required) to its
// customer mirror, and drains on SIGTERM.
import ServiceDeskService
import ServiceRuntime
internal import RPCTransport

let (settings, configFile) = await ServerLauncher.prepare(
    name: "crm-servicedesk",
    defaults: ServerSettings(server: .init(port: 7103), database: .init(path: "")),
    consumes: ["customer"])
let desk = CaseDesk()
do {
    try await ServerLauncher.run(
        name: "crm-servicedesk", settings: settings, configFile: configFile, migrator: ServiceDeskSchema.migrator, databaseGauges: SLAMetrics.gauges,
        backgroundServices: { store, logger in [SLASweeper.job(store: store, desk: desk, logger: logger)] },
        consumes: ["customer": CustomerMirror(desk: desk).apply]
    ) { router, store, _ in
        ServiceDeskHandlers.register(into: &router, store: store, desk: desk)
    }
} catch {
    ServerLauncher.exit(name: "crm-servicedesk", for: error)
}
