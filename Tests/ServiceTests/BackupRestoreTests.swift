import Foundation
import GRDB
import ServiceRuntime
import Synchronization
import TestSupport
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// `crm-admin backup` and `restore` against a real crm-customer under load.
@Suite("Backup and restore", .serialized)
struct BackupRestoreTests {
    /// Customers whose creation was acknowledged, with when the acknowledgement arrived.
    final class Acknowledged: Sendable {
        let entries = Mutex<[(id: String, at: ContinuousClock.Instant)]>([])
        /// Tells the writers to stop.
        let stopped = Atomic(false)
        func add(_ id: String) { entries.withLock { $0.append((id, .now)) } }
        func before(_ instant: ContinuousClock.Instant) -> [String] { entries.withLock { $0.filter { $0.at < instant }.map(\.id) } }
        func after(_ instant: ContinuousClock.Instant) -> Int { entries.withLock { $0.filter { $0.at > instant }.count } }
    }

    @Test("a backup taken under concurrent writes passes integrity_check and holds every write acknowledged before it began; restore puts it back with a new feed epoch")
    func backupUnderLoadThenRestore() async throws {
        let temporary = try TemporaryFolder("crm-backup")
        let folder = temporary.url
        let database = folder.appendingPathComponent("customer.sqlite").path
        let backup = folder.appendingPathComponent("customer-backup.sqlite").path
        let environment = ["CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": database]
        let (server, port) = try await ServerProcess.start("crm-customer", environment: environment, directory: folder)
        let client = RPCClient(configuration: .loopback(port: port))

        // Four writers create customers until told to stop.
        let acknowledged = Acknowledged()
        let writers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var index = 0
                        while !acknowledged.stopped.load(ordering: .relaxed) {
                            index += 1
                            var request = Crm_Customer_V1_CreateCustomerRequest()
                            request.profile.kind = .individual
                            request.profile.individual.nameLatin = "Backup Person \(worker) \(index)"
                            let response = try await client.unary(CustomerMethods.create, request)
                            acknowledged.add(response.customer.id)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        // Writes flowing first (on a loaded machine the first ones take a while).
        #expect(await eventually(seconds: 60) { acknowledged.before(.now).count >= 20 })
        let began = ContinuousClock.now
        let taken = try await Executables.run("crm-admin", ["backup", "--database", database, "--to", backup], directory: folder)
        let ended = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(300))
        acknowledged.stopped.store(true, ordering: .relaxed)
        try await writers.value
        #expect(taken.status == 0, "\(taken.stdout) \(taken.stderr)")
        #expect(taken.stdout.contains(#""integrity":"ok""#))
        let ackedBefore = acknowledged.before(began)
        #expect(ackedBefore.count >= 20, "writes were flowing when the backup began")
        #expect(acknowledged.after(ended) > 0, "writes went on while and after the backup ran")

        // The copy: a single file that passes integrity_check and holds every acknowledged write.
        #expect(!FileManager.default.fileExists(atPath: backup + "-wal"))
        let check = try await Executables.run("crm-admin", ["check", "--database", backup], directory: folder)
        #expect(check.status == 0 && check.stdout.contains(#""ok":true"#), "\(check.stdout)")
        let keys = try await DatabaseQueue(path: backup).read { db in Set(try Int64.fetchAll(db, sql: "SELECT key FROM customer")) }
        let missing = ackedBefore.filter { !keys.contains(Int64($0.dropFirst())!) }
        #expect(missing.isEmpty, "acknowledged before the backup began but not in it: \(missing.prefix(5))")

        // Restore is refused while the server has the file open.
        let refused = try await Executables.run("crm-admin", ["restore", "--from", backup, "--database", database], directory: folder)
        #expect(refused.status == 1 && refused.stderr.contains("open in another process"), "\(refused.stderr)")

        let epochBefore = try await client.unary(FeedMethods.status, Crm_Feed_V1_StatusRequest()).producerEpoch
        await client.close()
        #expect(await server.stop() == 0)
        let restored = try await Executables.run("crm-admin", ["restore", "--from", backup, "--database", database], directory: folder)
        #expect(restored.status == 0, "\(restored.stdout) \(restored.stderr)")
        #expect(restored.stdout.contains("previousFileKeptAt"))

        // The server runs on the restored file: the backed-up customers are there, the feed has a new epoch.
        let (again, againPort) = try await ServerProcess.start("crm-customer", environment: environment, directory: folder)
        let second = RPCClient(configuration: .loopback(port: againPort))
        var get = Crm_Customer_V1_GetCustomerRequest()
        get.id = try #require(ackedBefore.last)
        #expect(try await second.unary(CustomerMethods.get, get).customer.id == get.id)
        let status = try await second.unary(FeedMethods.status, Crm_Feed_V1_StatusRequest())
        #expect(status.producerEpoch != epochBefore)
        #expect(status.lastSequence == UInt64(keys.count), "one event per customer the backup holds")
        await second.close()
        #expect(await again.stop() == 0)
    }
}
