internal import Foundation
public import GRDB
public import Logging
internal import NIOCore
internal import NIOPosix
public import ServiceLifecycle
internal import UnixSignals
public import WireProtocol

/// What every server executable's main does, in this order: read the configuration (one line and
/// exit status 78 on a bad one), set up logging to stdout, open the database and run its migrations,
/// then open the listener, and run until SIGTERM or SIGINT, which drain it (DESIGN.md section 6).
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
    ///   - backgroundServices: the service's own background work (a sweep), run beside the listener.
    ///   - consumes: the feeds the service applies, by producer name (`customer`), each with the
    ///     function that applies one event; each producer's address must be configured
    ///     (`feeds.customer.address`). Feed.ListDeadLetters and Feed.RetryDeadLetters come with them.
    ///   - consumesIfConfigured: feeds the service applies when their address is configured, and
    ///     otherwise goes without (logging so at start): enrichment such as case summaries in the
    ///     customer view, which the service can serve without.
    public static func run(
        name: String, version: String, settings: ServerSettings, migrator: DatabaseMigrator,
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
        let store = try Store(configuration: settings.database, migrator: migrator, logger: logger)
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
        let server = RPCServer(configuration: settings.server, router: router, logger: logger)
        let pruner = ChangeLogPruner.job(store: store, retention: .seconds(settings.feedRetentionHours * 3600), logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: server), .init(service: pruner)]
        services += backgroundServices(store, logger).map { .init(service: $0) }
        services += consumers.map { .init(service: $0) }
        if let notifier = SystemdNotifier() {
            services.append(
                .init(
                    service: SystemdLifecycle(
                        notifier: notifier, watchdogInterval: SystemdNotifier.watchdogInterval(),
                        ready: { _ = try await server.boundAddress() },
                        healthy: {
                            // The database answers and an event loop runs a task, within a second each.
                            try await withDeadline(.seconds(1)) { _ = try await store.pool.read { try Int.fetchOne($0, sql: "SELECT 1") } }
                            try await withDeadline(.seconds(1)) { try await MultiThreadedEventLoopGroup.singleton.next().submit {}.get() }
                        },
                        logger: logger)))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped")
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
            consumers.append(
                FeedConsumer(configuration: .init(producer: producer, consumer: consumer, client: client), store: store, logger: logger, apply: apply))
        }
        return consumers
    }

    /// Sends every log line to stdout, one line per record (journald adds the time and unit).
    /// Safe to call more than once: swift-log allows one bootstrap per process.
    public static func bootstrapLogging() {
        _ = loggingBootstrapped
    }

    private static let loggingBootstrapped: Bool = {
        LoggingSystem.bootstrap { label in StreamLogHandler.standardOutput(label: label) }
        return true
    }()
}

public struct HealthCheckTimeout: Error {}

/// Runs `body`, failing with ``HealthCheckTimeout`` if it has not finished after `limit`.
public func withDeadline(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            try await body()
            return true
        }
        group.addTask {
            try await Task.sleep(for: limit)
            return false
        }
        let finished = try await group.next() ?? false
        group.cancelAll()
        if !finished { throw HealthCheckTimeout() }
    }
}
