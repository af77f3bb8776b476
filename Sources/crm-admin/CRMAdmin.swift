internal import ArgumentParser
internal import CustomerService
internal import Foundation
internal import GRDB
internal import MarketingService
internal import ServiceDeskService
internal import ServiceRuntime

/// `crm-admin`: work on a service's database file from its host (docs/OPERATIONS.md, "Back up
/// and restore"), and copy a change feed into a local file. Runs as a user that may read the file
/// (the service's, or root); each database verb prints one JSON object and exits 1 when something
/// is wrong. It links the services (for their migrations); crmctl, which only calls, links none.
@main
struct CRMAdmin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-admin",
        abstract: "Database administration on the host: backup, restore, check, migrations, and a feed's copy.",
        discussion: "Feed status and audit verification go through the servers: crmctl feeds status, crmctl audit verify.",
        version: BuildVersion.current,
        subcommands: [Backup.self, Restore.self, Check.self, Migrations.self, FeedCopy.self])

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a live database to a new file, one consistent snapshot, while its server keeps writing; the copy is checked before it is kept.")

        @Option(help: "The service's database file, e.g. /var/lib/crm-customer/customer.sqlite.")
        var database: String

        @Option(help: "The backup file to create (it must not exist).")
        var to: String

        func run() throws {
            try report { try DatabaseMaintenance.backup(database: database, to: to) }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a backup in place of a stopped server's database: checked first, the old file kept beside it, the change log given a new epoch so that consumers read it again.")

        @Option(help: "The backup file.")
        var from: String

        @Option(help: "The service's database file to replace.")
        var database: String

        @Flag(help: "Restore although DATABASE-wal exists (a server that crashed and was not started again).")
        var force = false

        func run() throws {
            try report { try DatabaseMaintenance.restore(from: from, database: database, force: force) }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "integrity_check and foreign_key_check on a database (the server may be running); exit 1 unless both pass.")

        @Option(help: "The database file.")
        var database: String

        func run() throws {
            try report {
                let result = try DatabaseMaintenance.check(database: database)
                return (result, result.ok)
            }
        }
    }

    struct Migrations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The migrations a database has, those this build would apply at the server's next start, and any this build does not know (exit 1).")

        @Option(help: "The database file.")
        var database: String

        @Option(help: "customer, marketing or servicedesk (default: the service whose migrations the file has).")
        var service: String?

        static let migrators = ["customer": CustomerSchema.migrator, "marketing": MarketingSchema.migrator, "servicedesk": ServiceDeskSchema.migrator]

        func validate() throws {
            if let service, Self.migrators[service] == nil { throw ValidationError("--service must be customer, marketing or servicedesk") }
        }

        func run() throws {
            try report {
                var chosen = service.flatMap { Self.migrators[$0] }.map { [$0] }
                if chosen == nil {
                    // The service whose first migration the file has; none yet: a new file, any service.
                    let applied = try DatabaseMaintenance.migrationStatus(database: database, migrators: []).applied
                    chosen = Self.migrators.values.filter { migrator in migrator.migrations.first.map(applied.contains) ?? false }
                }
                let status = try DatabaseMaintenance.migrationStatus(database: database, migrators: chosen ?? [])
                return (status, status.unknown.isEmpty)
            }
        }
    }
}

/// Prints the result as JSON; an error as `{"error": ...}` on stdout and one line on stderr, exit 1.
private func report<T: Encodable>(_ body: () throws -> T) throws {
    try report { (try body(), true) }
}

private func report<T: Encodable>(_ body: () throws -> (T, Bool)) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    do {
        let (result, ok) = try body()
        FileHandle.standardOutput.write(try encoder.encode(result) + Data("\n".utf8))
        if !ok { throw ExitCode(1) }
    } catch let exit as ExitCode {
        throw exit
    } catch {
        FileHandle.standardOutput.write(Data("{\"error\": \(String(decoding: try encoder.encode(["message": "\(error)"]), as: UTF8.self))}\n".utf8))
        FileHandle.standardError.write(Data("crm-admin: \(error)\n".utf8))
        throw ExitCode(1)
    }
}
