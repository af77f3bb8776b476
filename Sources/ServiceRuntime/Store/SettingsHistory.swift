public import Foundation
public import GRDB
public import SwiftProtobuf
internal import WireProtocol

/// Every version of a service's shared settings (SLA policies, offer rules, ...), each kept as the
/// settings message in force after its Set, with when and by whom it was set.
///
/// A Set names the version it replaces, so that two callers editing the same settings cannot
/// silently wipe each other's work: the second is refused with ABORTED and reads again. Version 0
/// is the state before any Set (nothing stored: defaults, or what a database held before versions
/// were kept).
public enum SettingsHistory {
    public struct Entry: Sendable, Equatable {
        public var version: Int64
        public var setAtMilliseconds: Int64
        /// ``ServerCallContext/actor`` of the Set.
        public var setBy: String
        /// The serialized settings message.
        public var settings: Data
    }

    static func createTable(_ db: Database) throws {
        try db.create(table: "runtime_settings_version") { table in
            table.column("name", .text).notNull()
            table.column("version", .integer).notNull()
            table.column("set_at_ms", .integer).notNull()
            table.column("set_by", .text).notNull()
            table.column("settings", .blob).notNull()
            table.primaryKey(["name", "version"])
        }
    }

    /// The version in force: the latest stored, 0 if none is.
    public static func currentVersion(of name: String, _ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT max(version) FROM runtime_settings_version WHERE name = ?", arguments: [name]) ?? 0
    }

    /// Fails with ABORTED (`STALE_VERSION`, detail `current_version`) unless `expected` is the
    /// version in force. Run it before changing anything.
    public static func check(_ name: String, expectedVersion expected: Int64, _ db: Database) throws {
        let current = try currentVersion(of: name, db)
        guard expected == current else {
            throw RPCError(
                code: .aborted, message: "\(name) is at version \(current), not \(expected); read them again and retry",
                reason: .staleVersion, processing: .notProcessed,
                fieldViolations: [.init(field: "expectedVersion", description: "the version in force is \(current)")],
                details: ["current_version": String(current)])
        }
    }

    /// Stores `settings` as the version after the one in force, in the caller's transaction, and
    /// returns its number.
    public static func record(_ name: String, settings: Data, setBy: String, atMilliseconds: Int64, _ db: Database) throws -> Int64 {
        let version = try currentVersion(of: name, db) + 1
        try db.execute(
            sql: "INSERT INTO runtime_settings_version (name, version, set_at_ms, set_by, settings) VALUES (?, ?, ?, ?, ?)",
            arguments: [name, version, atMilliseconds, setBy, settings])
        return version
    }

    /// Version `version` of `name` (0: the one in force); nil when the one in force is version 0.
    ///
    /// - Throws: NOT_FOUND (`UNKNOWN_VERSION`) for a version never set.
    public static func entry(_ name: String, version: Int64, _ db: Database) throws -> Entry? {
        let wanted = version == 0 ? try currentVersion(of: name, db) : version
        if wanted == 0 { return nil }
        guard let row = try Row.fetchOne(
            db, sql: "SELECT version, set_at_ms, set_by, settings FROM runtime_settings_version WHERE name = ? AND version = ?",
            arguments: [name, wanted])
        else {
            throw RPCError(
                code: .notFound, message: "\(name) have no version \(version)", reason: .unknownVersion, processing: .notProcessed,
                fieldViolations: [.init(field: "version", description: "never set")])
        }
        return Entry(version: row[0], setAtMilliseconds: row[1], setBy: row[2], settings: row[3])
    }

    /// A versioned Set in the caller's write transaction: refuses a stale `expectedVersion`, runs
    /// `apply` (which checks the request and replaces the settings), and keeps what `inForce` then
    /// reads as the next version, whose number it returns.
    public static func replace<Settings: SwiftProtobuf.Message>(
        _ name: String, expectedVersion: Int64, setBy: String, atMilliseconds: Int64, _ db: Database,
        apply: () throws -> Void, inForce: () throws -> Settings
    ) throws -> Int64 {
        try check(name, expectedVersion: expectedVersion, db)
        try apply()
        let settings = Data(try inForce().serializedBytes() as [UInt8])
        return try record(name, settings: settings, setBy: setBy, atMilliseconds: atMilliseconds, db)
    }

    /// Version `version` of the settings (0: in force, read by `inForce`; else as kept), with its
    /// entry (nil at version 0).
    public static func read<Settings: SwiftProtobuf.Message>(
        _ name: String, version: Int64, _ db: Database, inForce: () throws -> Settings
    ) throws -> (settings: Settings, entry: Entry?) {
        guard version >= 0 else {
            throw RPCError(
                code: .invalidArgument, message: "version must not be negative", reason: .invalidField, processing: .notProcessed,
                fieldViolations: [.init(field: "version", description: "must be 0 (in force) or a version set")])
        }
        let entry = try self.entry(name, version: version, db)
        if version == 0 { return (try inForce(), entry) }
        return (try Settings(serializedBytes: [UInt8](entry!.settings)), entry)
    }
}
