internal import Foundation
internal import Synchronization
public import GRDB
public import Logging
internal import NIOCore
internal import NIOPosix
public import ServiceLifecycle
internal import UnixSignals
internal import WireProtocol

/// What every server executable's main does, in this order: read the configuration (one line and
/// exit status 78 on a bad one), set up logging to stdout, open the database and run its migrations,
/// then open the listener, and run until SIGTERM or SIGINT, which drain it.
public enum ServerLauncher {
    /// EX_CONFIG from sysexits.h: the configuration is wrong.
    public static let configurationErrorExitCode: Int32 = 78

    /// A server's command line: `--config FILE` or nothing. Anything else prints the usage and
    /// exits (0 for `--help` or `-h`, 64 otherwise).
    public static func configFileArgument(name: String, _ arguments: [String] = CommandLine.arguments) -> String? {
        if let index = arguments.firstIndex(of: "--config"), index + 1 < arguments.count, arguments.count == 3 {
            return arguments[index + 1]
        }
        guard arguments.count > 1 else { return nil }
        print("usage: \(name) [--config FILE]")
        exit(arguments.contains("--help") || arguments.contains("-h") ? 0 : 64)
    }

    /// Loads the settings, or prints the error as one line on stderr and exits 78.
    public static func loadSettingsOrExit(
        file: String?, environment: [String: String]? = nil, defaults: ServerSettings
    ) async -> ServerSettings {
        do {
            return try await ServerSettings.load(
                file: file, environment: environment ?? ProcessInfo.processInfo.environment, defaults: defaults)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(configurationErrorExitCode)
        }
    }

    /// Runs a server until SIGTERM or SIGINT.
    ///
    /// - Parameters:
    ///   - name: the executable's name, e.g. `crm-customer`; the logger's label and what health reports.
    ///   - version: the build version reported by health.
    ///   - migrator: the service's schema migrations, run before the listener opens.
    ///   - registerHandlers: adds the service's methods to the router, given the open store.
    ///   - backgroundServices: the service's own background work (a sweep), run beside the listener;
    ///     asked for after `registerHandlers` ran, so it may run what the handlers opened.
    ///   - consumes: the feeds the service applies, by producer name (`customer`), each with the
    ///     function that applies one event; each producer's address must be configured
    ///     (`feeds.customer.address`). Feed.ListDeadLetters and Feed.RetryDeadLetters come with them.
    ///   - consumesIfConfigured: feeds the service applies when their address is configured, and
    ///     otherwise goes without (logging so at start): enrichment such as case summaries in the
    ///     customer view, which the service can serve without.
    ///   - configFile: the file the settings came from; SIGHUP reads it again (``reload(_:from:server:logger:)``).
    ///   - databaseGauges: the service's own metrics, read from its database at each scrape.
    public static func run(
        name: String, version: String, settings: ServerSettings, configFile: String? = nil, migrator: DatabaseMigrator,
        databaseGauges: [DatabaseGauge] = [],
        backgroundServices: (Store, Logger) -> [any Service] = { _, _ in [] },
        consumes: [String: FeedConsumer.Apply] = [:],
        consumesIfConfigured: [String: FeedConsumer.Apply] = [:],
        registerHandlers: (inout RPCRouter, Store, Logger) throws -> Void
    ) async throws {
        bootstrapLogging()
        var logger = Logger(label: name)
        logger.logLevel = settings.logLevel
        let folder = URL(fileURLWithPath: settings.database.path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let metrics = ServerMetrics(server: name, version: version, databaseGauges: databaseGauges)
        var database = settings.database
        database.checkpointsInBackground = true
        let store = try Store(configuration: database, migrator: migrator, logger: logger, metrics: metrics)
        var router = RPCRouter()
        SystemHandlers.register(into: &router, serverName: name, version: version)
        try registerHandlers(&router, store, logger)
        var consumed = consumes
        for (producer, apply) in consumesIfConfigured.sorted(by: { $0.key < $1.key }) {
            if settings.feedSources[producer] != nil {
                consumed[producer] = apply
            } else {
                logger.warning("not applying the \(producer) feed: feeds.\(producer).address is not set")
            }
        }
        let consumers = try feedConsumers(consumed, name: name, settings: settings, store: store, logger: logger)
        FeedHandlers.register(into: &router, consumers: consumers)
        let server = RPCServer(configuration: settings.server, router: router, logger: logger, metrics: metrics)
        let pruner = ChangeLogPruner.job(store: store, retention: .seconds(settings.feedRetentionHours * 3600), logger: logger)
        // The service group stops services in reverse order: the admin listener, first here, is
        // the last to go, so readiness reports the drain while it happens.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let admin = settings.admin {
            let checks = AdminServer.Checks(
                metrics: { await metrics.scrape(store) },
                ready: {
                    _ = try await server.boundAddress()
                    if server.isDraining { throw NotReady("draining") }
                    try await HealthChecks.databaseWritable(store)
                })
            services.append(.init(service: AdminServer(host: admin.host, port: admin.port, checks: checks, logger: logger)))
        }
        services += [.init(service: server), .init(service: pruner), .init(service: WALCheckpointer.job(store: store, logger: logger))]
        services.append(.init(service: ReloadOnHangup { [logger] in await reload(settings, from: configFile, server: server, logger: logger) }))
        services += backgroundServices(store, logger).map { .init(service: $0) }
        services += consumers.map { .init(service: $0) }
        if let notifier = SystemdNotifier() {
            services.append(
                .init(
                    service: SystemdLifecycle(
                        notifier: notifier, watchdogInterval: SystemdNotifier.watchdogInterval(),
                        ready: { _ = try await server.boundAddress() },
                        healthy: {
                            try await HealthChecks.databaseWritable(store)
                            try await HealthChecks.eventLoopAnswers()
                        },
                        logger: logger)))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped")
    }

    /// What SIGHUP changes without a restart: the listener's certificate, key and CA (for connections
    /// that open from now on) and `log.level`. The file is read again over the settings in force;
    /// if anything in it is wrong the reload is refused, logged, and nothing changes.
    @discardableResult
    public static func reload(_ current: ServerSettings, from file: String?, server: RPCServer, logger: Logger) async -> Bool {
        do {
            let settings = try await ServerSettings.load(file: file, environment: ProcessInfo.processInfo.environment, defaults: current)
            switch (current.server.tls, settings.server.tls) {
            case (nil, nil):
                break
            case (_?, let tls?):
                try server.reloadTLS(tls)
            default:
                throw ConfigurationError(key: "tls.certificate", message: "TLS can be turned on or off only by a restart")
            }
            setProcessLogLevel(settings.logLevel)
            logger.notice("configuration reloaded", metadata: ["file": "\(file ?? "(none)")", "log_level": "\(settings.logLevel)"])
            return true
        } catch {
            logger.error("configuration reload refused; the previous one stays in force", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// One consumer per consumed producer, subscribing at its configured address as
    /// `feeds.consumer_name` (default: the server's name without `crm-`).
    static func feedConsumers(
        _ consumes: [String: FeedConsumer.Apply], name: String, settings: ServerSettings, store: Store, logger: Logger
    ) throws(ConfigurationError) -> [FeedConsumer] {
        var consumers: [FeedConsumer] = []
        for (producer, apply) in consumes.sorted(by: { $0.key < $1.key }) {
            guard let source = settings.feedSources[producer] else {
                throw ConfigurationError(key: "feeds.\(producer).address", message: "missing: \(name) applies the \(producer) feed")
            }
            // A producer that is down is waited for (the consumer's own backoff), never given up on.
            let client = RPCClient.Configuration(
                host: source.host, port: source.port, options: .init(tls: settings.feedTLS), maximumAttempts: 1)
            let consumer = settings.feedConsumerName ?? String(name.hasPrefix("crm-") ? name.dropFirst(4) : name[...])
            // An erasure's page images from before it stay in the WAL until the WAL is emptied.
            let applyAndPurge: FeedConsumer.Apply = { event, db in
                try apply(event, db)
                if event.type == Erasure.customerErasedEvent { store.purgeWAL() }
            }
            consumers.append(
                FeedConsumer(
                    configuration: .init(producer: producer, consumer: consumer, client: client), store: store, logger: logger, apply: applyAndPurge))
        }
        return consumers
    }

    /// Sends every log line to stdout, one line per record (journald adds the time and unit).
    /// Safe to call more than once: swift-log allows one bootstrap per process.
    public static func bootstrapLogging() {
        _ = loggingBootstrapped
    }

    private static let loggingBootstrapped: Bool = {
        LoggingSystem.bootstrap { label in ReloadableLevelLogHandler(StreamLogHandler.standardOutput(label: label)) }
        return true
    }()

    /// Puts `level` in force for every logger of the process (a SIGHUP reload of `log.level`).
    public static func setProcessLogLevel(_ level: Logger.Level) {
        reloadedLogLevel.withLock { $0 = level }
    }
}

/// Writes through another handler (`StreamLogHandler` in the servers); its level is the one a
/// reload set, once one has, over the level each logger was made with (loggers are values copied
/// everywhere, so a reload cannot reach them one by one).
///
/// It keeps the logger's metadata itself and hands it to the inner handler only with a record:
/// `StreamLogHandler` formats its whole metadata again on every change, and the servers set three
/// or four keys on every call's logger (a quarter of the event loop's time on echo calls in a
/// profile, docs/BENCHMARKS.md), while most calls never log at all.
struct ReloadableLevelLogHandler: LogHandler {
    private var inner: any LogHandler
    private var ownLevel: Logger.Level

    init(_ inner: any LogHandler) {
        self.inner = inner
        ownLevel = inner.logLevel
    }

    var logLevel: Logger.Level {
        get { reloadedLogLevel.withLock { $0 } ?? ownLevel }
        set { ownLevel = newValue }
    }

    var metadata: Logger.Metadata = [:]

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            // The record's own metadata wins over the logger's, as in swift-log's handlers.
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        inner.log(event: event)
    }
}

/// The level a reload put in force for every logger of the process (nil: none yet).
let reloadedLogLevel = Mutex<Logger.Level?>(nil)

public struct HealthCheckTimeout: Error {}

/// Runs `body`, failing with ``HealthCheckTimeout`` if it has not finished after `limit`. Returns
/// at the limit even if `body` does not heed cancellation (a write waiting out SQLite's busy
/// timeout): it is cancelled and left to end on its own.
public func withDeadline(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws {
    let outcome = Mutex<CheckedContinuation<Void, any Error>?>(nil)
    let finish: @Sendable (Result<Void, any Error>) -> Bool = { result in
        guard let continuation = outcome.withLock({ value -> CheckedContinuation<Void, any Error>? in defer { value = nil }; return value }) else {
            return false
        }
        continuation.resume(with: result)
        return true
    }
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        outcome.withLock { $0 = continuation }
        let work = Task {
            do {
                try await body()
                _ = finish(.success(()))
            } catch {
                _ = finish(.failure(error))
            }
        }
        Task {
            try? await Task.sleep(for: limit)
            if finish(.failure(HealthCheckTimeout())) { work.cancel() }
        }
    }
}
