internal import Foundation
public import GRDB

/// What operators do to a service's database file from the host (`crm-admin`): an online backup
/// while the server keeps writing, an integrity check, a restore, the migration status. Each works
/// on the file itself, so it needs the server's file permissions, not the server.
public enum DatabaseMaintenance {
    public struct BackupReport: Codable, Sendable {
        public var path: String
        public var bytes: Int64
        public var integrity: String
        public var feedEpoch: String
        public var lastSequence: UInt64
        public var migrations: Int
        public var milliseconds: Int
    }

    public struct CheckReport: Codable, Sendable {
        public var path: String
        /// `ok`, or SQLite's integrity_check findings (at most 100).
        public var integrity: [String]
        public var foreignKeyViolations: Int
        public var ok: Bool
    }

    public struct RestoreReport: Codable, Sendable {
        public var database: String
        public var restoredFrom: String
        /// Where the file that was in place went (nil: there was none).
        public var previousFileKeptAt: String?
        /// The change log's new epoch: consumers read it again from its start.
        public var feedEpoch: String
    }

    public struct MigrationStatus: Codable, Sendable {
        public var path: String
        public var applied: [String]
        /// Known to this build and not yet applied: what the next start of the server applies.
        public var pending: [String]
        /// Applied but unknown to this build: the file is newer than the binaries.
        public var unknown: [String]
    }

    /// Copies `database` to `destination` as one consistent snapshot, while its server keeps
    /// writing: SQLite's backup API inside one read transaction (WAL lets writers go on), so the
    /// copy holds every transaction committed before the backup began. The copy is written beside
    /// the destination, checked with integrity_check, flushed to disk, then renamed into place.
    public static func backup(database: String, to destination: String) throws -> BackupReport {
        let started = ContinuousClock.now
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw StoreError(message: "\(destination) exists; name a new file")
        }
        let partial = destination + ".partial"
        do {
            let (epoch, last, migrations) = try snapshot(of: database, into: partial) { target in
                let integrity = try target.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check(100)") }
                guard integrity == ["ok"] else { throw StoreError(message: "the copy failed integrity_check: \(integrity.joined(separator: "; "))") }
                return try target.read { db in
                    (try ChangeLog.epoch(db), try ChangeLog.lastSequence(db), try Int.fetchOne(db, sql: "SELECT count(*) FROM grdb_migrations") ?? 0)
                }
            }
            try FileManager.default.moveItem(atPath: partial, toPath: destination)
            try syncFile(URL(fileURLWithPath: destination).deletingLastPathComponent().path)
            let bytes = (try FileManager.default.attributesOfItem(atPath: destination)[.size] as? NSNumber)?.int64Value ?? 0
            let elapsed = ContinuousClock.now - started
            return BackupReport(
                path: destination, bytes: bytes, integrity: "ok", feedEpoch: epoch, lastSequence: last, migrations: migrations,
                milliseconds: Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000))
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    /// integrity_check and foreign_key_check, in one read transaction (the server may keep running).
    public static func check(database: String) throws -> CheckReport {
        let queue = try openReadOnly(database)
        return try queue.read { db in
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check(100)")
            let violations = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").count
            return CheckReport(path: database, integrity: integrity, foreignKeyViolations: violations, ok: integrity == ["ok"] && violations == 0)
        }
    }

    /// Puts a backup in place of `database`, its server stopped. The backup is checked first; the
    /// file it replaces is kept beside it; the change log gets a new epoch and every consumer's
    /// acknowledgement is cleared, because events after the backup are gone and their sequence
    /// numbers will be given again: consumers must read the restored log from its start rather
    /// than skip what they think they have seen.
    ///
    /// Refused while another process has the file open (its server still runs).
    public static func restore(from backup: String, database: String, force: Bool = false) throws -> RestoreReport {
        if !force, try isOpenElsewhere(database) {
            throw StoreError(message: "\(database) is open in another process: stop its server first")
        }
        let report = try check(database: backup)
        guard report.ok else { throw StoreError(message: "\(backup) fails its check: \(report.integrity.joined(separator: "; "))") }
        let restoring = database + ".restoring"
        let epoch = try snapshot(of: backup, into: restoring) { target in
            try target.write { db -> String in
                try db.execute(sql: "UPDATE feed_epoch SET epoch = lower(hex(randomblob(16)))")
                try db.execute(sql: "UPDATE feed_consumer SET acknowledged_sequence = 0")
                try advanceVersions(atMilliseconds: Int64(Date().timeIntervalSince1970 * 1000), db)
                return try ChangeLog.epoch(db)
            }
        }
        var kept: String?
        if FileManager.default.fileExists(atPath: database) {
            let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
            kept = database + ".replaced-" + stamp
            try FileManager.default.moveItem(atPath: database, toPath: kept!)
        }
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        try FileManager.default.moveItem(atPath: restoring, toPath: database)
        try syncFile(URL(fileURLWithPath: database).deletingLastPathComponent().path)
        return RestoreReport(database: database, restoredFrom: backup, previousFileKeptAt: kept, feedEpoch: epoch)
    }

    /// Versions given after a restore must be above every version given before it, also those the
    /// backup never saw (the changes after it, which callers and consumers may hold). Every table
    /// with a `version` column holds entity versions: each moves to at least the restore time in
    /// milliseconds times 1,000. Versions before any restore are far below that, and versions
    /// after an earlier restore stay below the floor of a later one unless an entity changed more
    /// than 1,000 times a millisecond in between. The floor stays within 2^53 (exact as a double,
    /// for JSON clients) until the year 2255.
    static func advanceVersions(atMilliseconds time: Int64, _ db: Database) throws {
        let floor = time * 1_000
        let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        for table in tables where try db.columns(in: table).contains(where: { $0.name == "version" }) {
            try db.execute(sql: "UPDATE \(table.quotedDatabaseIdentifier) SET version = MAX(version + 1, ?)", arguments: [floor])
        }
    }

    /// Which migrations the file has, and which of `migrators` (this build's) it lacks.
    public static func migrationStatus(database: String, migrators: [DatabaseMigrator]) throws -> MigrationStatus {
        let applied = try openReadOnly(database).read { db in
            try db.tableExists("grdb_migrations") ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid") : []
        }
        let known = ([Store.runtimeMigrations] + migrators).flatMap(\.migrations)
        let appliedSet = Set(applied)
        return MigrationStatus(
            path: database, applied: applied, pending: known.filter { !appliedSet.contains($0) }, unknown: applied.filter { !known.contains($0) })
    }

    /// Copies `source` (one read transaction, SQLite's backup API) into a new single file at `path`
    /// (no `-wal`, so it can be moved alone), runs `body` on the copy, closes it and flushes it to disk.
    private static func snapshot<T>(of source: String, into path: String, _ body: (DatabaseQueue) throws -> T) throws -> T {
        try? FileManager.default.removeItem(atPath: path)
        let target = try DatabaseQueue(path: path)
        try openReadOnly(source).backup(to: target)
        let result = try body(target)
        _ = try target.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode = DELETE") }
        try target.close()
        try syncFile(path)
        return result
    }

    /// Whether another connection has the WAL database open: SQLite deletes the `-wal` file when
    /// the last connection closes, so open, read, close, and see whether it is still there.
    static func isOpenElsewhere(_ database: String) throws -> Bool {
        let wal = database + "-wal"
        guard FileManager.default.fileExists(atPath: database), FileManager.default.fileExists(atPath: wal) else { return false }
        let queue = try DatabaseQueue(path: database)
        _ = try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
        try queue.close()
        return FileManager.default.fileExists(atPath: wal)
    }

    private static func openReadOnly(_ path: String) throws -> DatabaseQueue {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError(message: "no database at \(path)") }
        var configuration = GRDB.Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    /// fsync(2) on a file or folder, so that a rename that follows survives a power loss.
    private static func syncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw StoreError(message: "cannot open \(path) to flush it") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw StoreError(message: "fsync \(path) failed") }
    }
}
