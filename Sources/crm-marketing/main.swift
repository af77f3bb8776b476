// crm-marketing: MarketingService's server. Settings come from --config FILE and CRM_* variables
// (docs/OPERATIONS.md); it applies the customer and servicedesk feeds, so both producers' addresses
// are required (exit status 78 without them).
import MarketingService
import ServiceRuntime
internal import RPCTransport

let (settings, configFile) = await ServerLauncher.prepare(
    name: "crm-marketing",
    defaults: ServerSettings(server: .init(port: 7102), database: .init(path: "")),
    consumes: ["customer", "servicedesk"])
let pipeline = Pipeline()
let mirror = MarketingMirror(pipeline: pipeline)
do {
    try await ServerLauncher.run(
        name: "crm-marketing", settings: settings, configFile: configFile, migrator: MarketingSchema.migrator,
        backgroundServices: { store, logger in [RelationshipEventGenerator.job(store: store, tasks: TaskBook(pipeline: pipeline), logger: logger)] },
        consumes: ["customer": mirror.applyCustomer, "servicedesk": mirror.applyCase]
    ) { router, store, _ in
        MarketingHandlers.register(into: &router, store: store, pipeline: pipeline)
    }
} catch {
    ServerLauncher.exit(name: "crm-marketing", for: error)
}
