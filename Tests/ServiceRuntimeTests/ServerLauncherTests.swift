import TestSupport
import Foundation
import GRDB
import NIOCore
import ServiceLifecycle
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

@Suite("Server launcher")
struct ServerLauncherTests {
    @Test("migrations run before the listener opens; the server answers health; cancellation stops it")
    func launches() async throws {
        let port = try freeLoopbackPort()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crm-launch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let databasePath = folder.appendingPathComponent("test.sqlite").path
        let settings = try await ServerSettings.load(
            file: nil, environment: ["CRM_LISTEN_PORT": "\(port)", "CRM_DATABASE_PATH": databasePath, "CRM_LOG_LEVEL": "critical"],
            defaults: ServerSettings(server: .init(port: 1), database: .init(path: "/nonexistent")))
        var migrator = DatabaseMigrator()
        migrator.registerMigration("launch-1") { db in try db.execute(sql: "CREATE TABLE launched (id INTEGER PRIMARY KEY)") }

        let server = Task {
            try await ServerLauncher.run(name: "crm-test", version: "1.0", settings: settings, migrator: migrator) { _, store, _ in
                // Handlers are registered after the store is open and migrated.
                let migrated = try store.pool.read { try $0.tableExists("launched") }
                #expect(migrated)
            }
        }
        let client = RPCClient(configuration: .init(host: "127.0.0.1", port: port, initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(100), maximumAttempts: 50))
        let health = try await client.unary(SystemMethods.health, Crm_System_V1_HealthRequest(), timeout: .seconds(5))
        #expect(health.server == "crm-test")
        #expect(health.version == "1.0")
        await client.close()
        server.cancel()
        _ = await server.result
        #expect(FileManager.default.fileExists(atPath: databasePath))
    }
}
