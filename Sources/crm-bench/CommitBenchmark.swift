internal import ArgumentParser
internal import Foundation
internal import GRDB
internal import Logging
internal import NIOCore
internal import ServiceRuntime

/// `crm-bench commits`: what the store's write path alone can commit durably. N concurrent tasks
/// each insert one small row through `Store.write` (synchronous=FULL, a fresh file) as fast as their
/// commits return, once with group commit off (`groupCommitLimit` 1: one transaction and one fsync
/// per write) and once on (the default): the ceiling any durable method sits under.
struct CommitBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commits", abstract: "Durable commits per second through Store.write, group commit off and on.")

    @Option(help: "A folder for the throw-away database files.")
    var folder = "var/bench/commits"

    @Option(help: "Comma-separated concurrent writers.")
    var inFlight = "1,16,256"

    @Option(help: "Seconds per row.")
    var duration = 5.0

    @Option(help: "Comma-separated group commit limits (1 = off).")
    var limits = "1,256"

    func run() async throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var logger = Logger(label: "crm-bench")
        logger.logLevel = .warning
        var migrator = DatabaseMigrator()
        migrator.registerMigration("bench-1") { db in
            try db.execute(sql: "CREATE TABLE entry (id INTEGER PRIMARY KEY AUTOINCREMENT, writer INTEGER NOT NULL, body TEXT NOT NULL)")
        }
        var lines = [
            "Store.write of one 64-byte row, synchronous=FULL, \(duration) s per row",
            "| group commit limit | writers | commits/s | p50 us | p99 us | p99.9 us | max us | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for limit in limits.split(separator: ",").compactMap({ Int($0) }) {
            for level in inFlight.split(separator: ",").compactMap({ Int($0) }) {
                let path = "\(folder)/commits-\(limit)-\(level).sqlite"
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
                let store = try Store(configuration: .init(path: path, groupCommitLimit: limit), migrator: migrator, logger: logger)
                let body = String(repeating: "x", count: 64)
                let recorder = try await Progress.showing("commits, limit \(limit), \(level) writers") { progress in
                    try await ClosedLoop.measure(inFlight: level, duration: duration, progress: progress) { worker, _ in
                        try await store.write { db in
                            try db.execute(sql: "INSERT INTO entry (writer, body) VALUES (?, ?)", arguments: [worker, body])
                        }
                    }
                }
                let stored = try await store.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM entry") ?? 0 }
                guard stored == Int(recorder.count) else { throw ValidationError("\(recorder.count) commits answered but \(stored) rows stored") }
                let line = recorder.markdownRow(limit == 1 ? "1 (off)" : "\(limit)", inFlight: level)
                FileHandle.standardError.write(Data((line + "\n").utf8))
                lines.append(line)
                try store.pool.close()
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            }
        }
        print(lines.joined(separator: "\n"))
    }
}
