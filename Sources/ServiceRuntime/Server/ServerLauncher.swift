internal import Foundation
internal import Synchronization
public import GRDB
public import Logging
internal import NIOCore
internal import NIOPosix
public import ServiceLifecycle
internal import UnixSignals
public import WireProtocol
public import RPCTransport
public import CRMAPI

/// What every server executable's main does, in this order: read the command line and the
/// configuration and check what it names (``prepare(name:defaults:consumes:environment:)``: one line
/// and exit status 78 on a bad configuration, 1 on another start error), set up logging to stdout,
/// open the database and run its migrations, then open the listener, and run until SIGTERM or
/// SIGINT, which drain it.
public enum ServerLauncher {
    /// EX_CONFIG from sysexits.h: the configuration is wrong.
    public static let configurationErrorExitCode: Int32 = 78

    /// Reads the command line (``ServerStart``) and the configuration over `defaults`, then runs
    /// the start checks (``checkBeforeStart(_:name:consumes:)``), all before a database is opened.
    /// Any problem is one line on stderr and the exit (``exit(name:for:)``); with `--check-config`
    /// it prints the outcome and exits 0 when the server would start.
    ///
    /// - Parameters:
    ///   - consumes: the producers whose feeds the server must be given (`customer`).
    ///   - consumesIfConfigured: the producers whose feeds it applies when their address is set.
    public static func prepare(
        name: String, defaults: ServerSettings, consumes: [String] = [], consumesIfConfigured: [String] = [],
        environment: [String: String]? = nil
    ) async -> (settings: ServerSettings, configFile: String?) {
        let start = ServerStart.parse(name: name)
        do {
            let settings = try await ServerSettings.load(
                file: start.configFile, environment: environment ?? ProcessInfo.processInfo.environment, defaults: defaults,
                keys: ServerSettings.keys(feeds: consumes + consumesIfConfigured))
            try await checkBeforeStart(settings, name: name, consumes: consumes)
            if start.checkOnly { configurationChecked(name: name, file: start.configFile) }
            return (settings, start.configFile)
        } catch {
            exit(name: name, for: error)
        }
    }

    /// What must hold before a service opens its database: a database path whose folder this user
    /// can write, each consumed producer's address, TLS files that load, and free listen and
    /// admin ports.
    public static func checkBeforeStart(_ settings: ServerSettings, name: String, consumes: [String]) async throws {
        try StartChecks.databaseFolder(settings.database.path)
        for producer in consumes.sorted() where settings.feedSources[producer] == nil {
            throw ConfigurationError(key: "feeds.\(producer).address", message: "missing: \(name) applies the \(producer) feed")
        }
        if let tls = settings.server.tls { try StartChecks.tls(tls, keys: "tls", server: true) }
        if let tls = settings.feedTLS { try StartChecks.tls(tls, keys: "feeds.tls", server: false) }
        try await checkPorts(settings)
    }

    /// The listen and admin ports are free.
    public static func checkPorts(_ settings: ServerSettings) async throws {
        try await StartChecks.portFree(host: settings.server.host, port: settings.server.port, key: "listen.port")
        if let admin = settings.admin { try await StartChecks.portFree(host: admin.host, port: admin.port, key: "admin.port") }
    }

    /// `--check-config` passed: says so and exits 0.
    public static func configurationChecked(name: String, file: String?) -> Never {
        print("\(name): configuration OK (\(file ?? "no file, defaults and environment"))")
        Foundation.exit(0)
    }

    /// Prints `error` as one line on stderr, `crm-customer: ...`, and exits: 78 (EX_CONFIG) for a
    /// configuration error, 1 for anything else (a port in use, a database that cannot be opened).
    public static func exit(name: String, for error: any Error) -> Never {
        FileHandle.standardError.write(Data("\(name): \(error)\n".utf8))
        Foundation.exit(error is ConfigurationError ? configurationErrorExitCode : 1)
    }

    /// Runs a server until SIGTERM or SIGINT.
    ///
    /// - Parameters:
    ///   - name: the executable's name, e.g. `crm-customer`; the logger's label and what health reports.
    ///   - version: the version health reports (the build's).
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
        name: String, version: String = BuildVersion.current, settings: ServerSettings, configFile: String? = nil, migrator: DatabaseMigrator,
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
    /// if anything in it is wrong the reload is refused, logged, and nothing changes. A changed key
    /// that is read only at start is logged as a warning naming it.
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
            let waiting = ServerSettings.restartOnlyChanges(from: current, to: settings)
            if !waiting.isEmpty {
                logger.warning(
                    "configuration changes that take effect only after a restart",
                    metadata: ["keys": "\(waiting.joined(separator: ","))", "file": "\(file ?? "(none)")"])
            }
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
