internal import ArgumentParser
internal import CRMClient
internal import Foundation
internal import GRDB
internal import Logging
internal import ServiceLifecycle
internal import ServiceRuntime
internal import UnixSignals
internal import WireProtocol
internal import CRMAPI
internal import RPCTransport

extension CRMAdmin {
    /// `crm-admin feed-copy`: a FeedConsumer whose effect is a local copy of every event. For
    /// operators who want a server's events in a file (to audit, to replay elsewhere), and for the
    /// tests that kill producers and consumers at random.
    struct FeedCopy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "feed-copy",
            abstract: "Copy a server's change feed into a local SQLite file, each event exactly once, until SIGTERM or SIGINT.",
            discussion: """
                The file's copied_event table gets every event in sequence order (unique per epoch and sequence); \
                the offset is stored with each event, so a restart (or a crash) resumes exactly after the last copied \
                event. The server registers the consumer name and keeps events until it acknowledged them.
                """)

        @Option(help: "host:port of the server whose feed to copy (env CRM_ADDRESS).")
        var address: String?

        @Option(name: .customLong("tls-cert"), help: "Client certificate PEM (env CRM_TLS_CERT).")
        var tlsCertificate: String?

        @Option(name: .customLong("tls-key"), help: "Client private key PEM (env CRM_TLS_KEY).")
        var tlsKey: String?

        @Option(name: .customLong("tls-ca"), help: "CA certificate PEM the server must chain to (env CRM_TLS_CA).")
        var tlsCA: String?

        @Option(help: "The SQLite file to copy into (created if missing).")
        var into: String

        @Option(help: "The consumer name to register at the server (letters, digits, - and _).")
        var consumer = "crmctl-copy"

        func run() async throws {
            // The target first: a bad flag leaves no new file behind.
            let target: ClientTarget
            do {
                target = try ClientTarget(
                    flagsAddress: address, certificate: tlsCertificate, key: tlsKey, ca: tlsCA,
                    environment: ProcessInfo.processInfo.environment)
            } catch {
                throw ValidationError(error.message)
            }
            ServerLauncher.bootstrapLogging()
            var logger = Logger(label: "crm-admin")
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
            var client = target.rpcConfiguration
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
