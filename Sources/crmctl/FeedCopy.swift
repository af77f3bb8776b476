internal import ArgumentParser
internal import CRMClient
internal import Foundation
internal import GRDB
internal import Logging
internal import ServiceLifecycle
internal import ServiceRuntime
internal import UnixSignals
internal import WireProtocol

extension Feeds {
    /// `crmctl feeds copy`: a FeedConsumer whose effect is a local copy of every event. For
    /// operators who want a server's events in a file (to audit, to replay elsewhere), and for the
    /// tests that kill producers and consumers at random.
    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a server's change feed into a local SQLite file, each event exactly once, until SIGTERM or SIGINT.",
            discussion: """
                The file's copied_event table gets every event in sequence order (unique per epoch and sequence); \
                the offset is stored with each event, so a restart (or a crash) resumes exactly after the last copied \
                event. The server registers the consumer name and keeps events until it acknowledged them.
                """)

        @OptionGroup var connection: ConnectionOptions

        @Option(help: "The SQLite file to copy into (created if missing).")
        var into: String

        @Option(help: "The consumer name to register at the server (letters, digits, - and _).")
        var consumer = "crmctl-copy"

        func run() async throws {
            ServerLauncher.bootstrapLogging()
            var logger = Logger(label: "crmctl")
            logger.logLevel = .warning
            var schema = DatabaseMigrator()
            schema.registerMigration("copy-1") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE copied_event (
                            copy_order INTEGER PRIMARY KEY AUTOINCREMENT,
                            epoch TEXT NOT NULL,
                            sequence INTEGER NOT NULL,
                            type TEXT NOT NULL,
                            entity_key TEXT NOT NULL,
                            at_ms INTEGER NOT NULL,
                            payload_type TEXT NOT NULL,
                            payload BLOB NOT NULL,
                            UNIQUE (epoch, sequence)
                        )
                        """)
            }
            let store = try Store(configuration: .init(path: into), migrator: schema, logger: logger)
            var client = try connection.target().rpcConfiguration
            client.maximumAttempts = 5
            let copier = FeedConsumer(
                configuration: .init(producer: "copy", consumer: consumer, client: client), store: store, logger: logger
            ) { event, db in
                try db.execute(
                    sql: "INSERT INTO copied_event (epoch, sequence, type, entity_key, at_ms, payload_type, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    arguments: [
                        event.producerEpoch, Int64(event.sequence), event.type, event.entityKey, event.at.milliseconds, event.payloadType, event.payload,
                    ])
            }
            let group = ServiceGroup(
                configuration: .init(services: [.init(service: copier)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }
}
