// crm-marketing: MarketingService's server. Settings come from --config FILE and CRM_* variables
// (docs/OPERATIONS.md); it applies the customer and servicedesk feeds, so both producers' addresses
// are required (exit status 78 without them).
import Foundation
import MarketingService
import ServiceRuntime

let configFile = ServerLauncher.configFileArgument(name: "crm-marketing")

let settings = await ServerLauncher.loadSettingsOrExit(
    file: configFile,
    defaults: ServerSettings(
        server: .init(port: 7102),
        database: .init(path: "var/data/marketing.sqlite")))
let pipeline = Pipeline()
let mirror = MarketingMirror(pipeline: pipeline)
do {
    try await ServerLauncher.run(
        name: "crm-marketing", version: "0.1.0", settings: settings, configFile: configFile, migrator: MarketingSchema.migrator,
        backgroundServices: { store, logger in [RelationshipEventGenerator.job(store: store, tasks: TaskBook(pipeline: pipeline), logger: logger)] },
        consumes: ["customer": mirror.applyCustomer, "servicedesk": mirror.applyCase]
    ) { router, store, _ in
        MarketingHandlers.register(into: &router, store: store, pipeline: pipeline)
    }
} catch let error as ConfigurationError {
    // A consumed feed without its producer's address.
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(ServerLauncher.configurationErrorExitCode)
} catch {
    // One line for the journal (a port in use, an unreadable database), not a crash report.
    print("crm-marketing: cannot run: \(error)")
    exit(1)
}
