import Foundation
import GRDB
import Testing
import WireProtocol

/// crm-customer as operators run it: a real process, configured by environment, called by crmctl
/// over loopback, stopped by SIGTERM, restarted on the same database.
@Suite("crm-customer process", .serialized)
struct CustomerServerProcessTests {
    /// crm-customer on a free port with its database under `folder`/data.
    func startServer(in folder: URL) async throws -> (ServerProcess, Int) {
        let environment = ["CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": folder.appendingPathComponent("data/customer.sqlite").path]
        return try await ServerProcess.start("crm-customer", environment: environment, directory: folder)
    }

    func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crm-customer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test("a bad configuration value is one line naming the key, and exit status 78")
    func configurationError() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try await Executables.run("crm-customer", [], environment: ["CRM_LISTEN_PORT": "seventy"], directory: folder)
        #expect(result.status == 78)
        #expect(result.stderr.contains("listen.port"))
        #expect(result.stderr.split(separator: "\n").count == 1)

        try Data(#"{"listen": {"prot": 7101}}"#.utf8).write(to: folder.appendingPathComponent("bad.json"))
        let unknownKey = try await Executables.run("crm-customer", ["--config", "bad.json"], directory: folder)
        #expect(unknownKey.status == 78)
        #expect(unknownKey.stderr.contains("listen.prot"))
    }

    @Test("create, get and search through crmctl; one log line per call, none for health probes; SIGTERM exits 0; data survives a restart")
    func endToEnd() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let environment = ["CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": folder.appendingPathComponent("data/customer.sqlite").path]
        let (server, port) = try await ServerProcess.start("crm-customer", environment: environment, directory: folder)
        let address = "127.0.0.1:\(port)"
        let create = try await Executables.run(
            "crmctl",
            [
                "call", "Customer.Create",
                #"{"profile": {"kind": "CUSTOMER_KIND_INDIVIDUAL", "individual": {"nameZh": "王芳", "birthDate": "1949-12-31"}, "#
                    + #""documents": [{"type": "DOCUMENT_TYPE_PRC_RESIDENT_ID", "number": "11010519491231002X"}], "#
                    + #""contacts": [{"kind": "CONTACT_KIND_PHONE", "value": "13812345678"}]}}"#,
                "--address", address,
            ])
        #expect(create.status == 0, "\(create.stderr)")
        #expect(create.stdout.contains(#""id":"C0000000001""#))
        #expect(create.stdout.contains(#""number":"110***********002X""#), "direct callers have no role: masked")

        let search = try await Executables.run("crmctl", ["call", "Customer.Search", #"{"namePrefix": "王"}"#, "--address", address])
        #expect(search.stdout.contains(#""displayName":"王*""#), "direct callers have no role: names masked too; \(search.stderr)")

        let duplicate = try await Executables.run(
            "crmctl",
            [
                "call", "Customer.Create",
                #"{"profile": {"kind": "CUSTOMER_KIND_INDIVIDUAL", "individual": {"nameZh": "王芳"}, "#
                    + #""documents": [{"type": "DOCUMENT_TYPE_PRC_RESIDENT_ID", "number": "11010519491231002X"}]}}"#,
                "--address", address,
            ])
        #expect(duplicate.status == 16, "ALREADY_EXISTS")
        #expect(duplicate.stdout.contains("ALREADY_EXISTS"))
        #expect(duplicate.stdout.contains("DUPLICATE_DOCUMENT"))

        // The access log's WAL is copied into its file in the background while the server runs
        // (without the checkpoint job, only at 1,000 WAL pages or at the close): its tables reach
        // the main file, which holds no more than its first page until a checkpoint.
        let accessFile = folder.appendingPathComponent("data/customer-access.sqlite").path
        var accessFileSize = 0
        for _ in 0..<50 where accessFileSize <= 4096 {
            accessFileSize = (try? FileManager.default.attributesOfItem(atPath: accessFile)[.size] as? Int) ?? 0
            if accessFileSize <= 4096 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(accessFileSize > 4096, "the access log was not checkpointed while the server ran")

        // Health probes (the gateway sends one a second per backend) are logged at debug, not info.
        for _ in 0..<2 {
            #expect(try await Executables.run("crmctl", ["health", "--address", address]).status == 0)
        }
        #expect(await server.stop() == 0)
        let calls = server.log.split(separator: "\n").filter { $0.hasSuffix(" call") }
        #expect(calls.count == 3, "\(server.log)")
        #expect(calls.first?.contains("method=Customer.Create") == true)
        #expect(calls.first?.contains("code=OK") == true)
        #expect(calls.last?.contains("code=ALREADY_EXISTS") == true)
        #expect(calls.allSatisfy { $0.contains("duration_us=") })
        #expect(server.log.contains("stopped"))

        let (restarted, newPort) = try await ServerProcess.start("crm-customer", environment: environment, directory: folder)
        let get = try await Executables.run("crmctl", ["call", "Customer.Get", #"{"id": "C0000000001"}"#, "--address", "127.0.0.1:\(newPort)"])
        #expect(get.stdout.contains(#""nameZh":"王*""#) && get.stdout.contains("110***********002X"), "\(get.stderr)")
        let accessLog = try DatabaseQueue(path: folder.appendingPathComponent("data/customer-access.sqlite").path)
        // The read-access log sits beside the database; a caller without a role saw the customer masked: no row.
        #expect(try await accessLog.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM access_log") } == 0)
        try accessLog.close()
        let verify = try await Executables.run("crmctl", ["audit", "verify", "--address", "127.0.0.1:\(newPort)"])
        #expect(verify.status == 0)
        #expect(verify.stdout.contains(#""intact":true"#))
        #expect(await restarted.stop() == 0)

        // Someone edits the file behind the service's back: crmctl audit verify says where, and fails.
        let queue = try DatabaseQueue(path: folder.appendingPathComponent("data/customer.sqlite").path)
        try await queue.writeWithoutTransaction { db in
            try db.execute(sql: "DROP TRIGGER audit_log_append_only_update; UPDATE audit_log SET end_user = 'nobody' WHERE sequence = 1")
        }
        try queue.close()
        let (tampered, tamperedPort) = try await ServerProcess.start("crm-customer", environment: environment, directory: folder)
        let broken = try await Executables.run("crmctl", ["audit", "verify", "--address", "127.0.0.1:\(tamperedPort)"])
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("broken at sequence 1"))
        #expect(await tampered.stop() == 0)
    }

    @Test("crmctl import customers: rejected rows in the report with their lines, exit 3; the same file again changes nothing")
    func importFile() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (server, port) = try await startServer(in: folder)
        let csv = """
            source_id,name_zh,name_latin,gender,birth_date,document_type,document_number,phone
            L-1,王芳,Wang Fang,female,1949-12-31,prc_resident_id,11010519491231002X,13812345678
            L-2,李四,Li Si,male,1949-12-31,prc_resident_id,110105194912310021,
            L-3,"张三, 大",Zhang San,robot,,,,
            L-4,赵六,Zhao Liu,male,1970-01-01,,,13900000000

            """
        try Data(csv.utf8).write(to: folder.appendingPathComponent("legacy.csv"))
        let arguments = ["import", "customers", "legacy.csv", "--source", "legacy-cards", "--batch", "2", "--address", "127.0.0.1:\(port)"]
        let first = try await Executables.run("crmctl", arguments, directory: folder)
        #expect(first.status == 3, "\(first.stderr)")
        #expect(first.stdout.contains(#""created":2"#), "\(first.stdout)")
        #expect(first.stdout.contains(#""rejected":2"#))
        let report = try String(contentsOf: folder.appendingPathComponent("legacy.csv.rejected.jsonl"), encoding: .utf8)
        let lines = report.split(separator: "\n")
        #expect(lines.count == 2, "\(report)")
        #expect(lines.contains { $0.contains(#""line":"4""#) && $0.contains("UNREADABLE") && $0.contains("robot") }, "\(report)")
        #expect(lines.contains { $0.contains(#""line":"3""#) && $0.contains("INVALID_FIELD") && $0.contains(#""document_number: "#) }, "by its column: \(report)")

        let second = try await Executables.run("crmctl", arguments, directory: folder)
        #expect(second.status == 3)
        #expect(second.stdout.contains(#""created":0"#) && second.stdout.contains(#""unchanged":2"#), "\(second.stdout)")
        let search = try await Executables.run("crmctl", ["call", "Customer.Search", #"{"branchId": "", "namePrefix": "zhao"}"#, "--address", "127.0.0.1:\(port)"])
        #expect(search.stdout.components(separatedBy: "C00000000").count == 2, "one Zhao Liu: \(search.stdout)")
        // Two customers created: two change events, and no consumer has subscribed yet.
        let feeds = try await Executables.run("crmctl", ["feeds", "status", "--address", "127.0.0.1:\(port)"])
        #expect(feeds.status == 0, "\(feeds.stderr)")
        #expect(feeds.stdout.contains(#""lastSequence":"2""#) && !feeds.stdout.contains("consumers"), "\(feeds.stdout)")
        #expect(await server.stop() == 0)
    }

    @Test("crmctl import: a row without source_id rejects only itself, problems by column, possible duplicates in their own report, --dry-run changes nothing")
    func importRowsOnTheirOwn() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (server, port) = try await startServer(in: folder)
        let csv = """
            source_id,name_zh,name_latin,birth_date,phone
            L-1,王芳,Wang Fang,1949-12-31,13812345678
            ,李四,Li Si,1950-01-01,
            L-3,王芳,,1949-12-31,13812345678
            L-4,赵六,Zhao Liu,1970-13-01,

            """
        try Data(csv.utf8).write(to: folder.appendingPathComponent("legacy.csv"))
        let arguments = ["import", "customers", "legacy.csv", "--source", "legacy-cards", "--address", "127.0.0.1:\(port)"]
        func file(_ name: String) throws -> [Substring] {
            try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8).split(separator: "\n")
        }

        let dry = try await Executables.run("crmctl", arguments + ["--dry-run"], directory: folder)
        #expect(dry.status == 3, "\(dry.stderr)")
        #expect(dry.stdout.contains(#""dryRun":true"#) && dry.stdout.contains(#""created":2"#) && dry.stdout.contains(#""rejected":2"#), "\(dry.stdout)")
        #expect(try file("legacy.csv.duplicates.jsonl").count == 1)
        let feeds = try await Executables.run("crmctl", ["feeds", "status", "--address", "127.0.0.1:\(port)"])
        #expect(!feeds.stdout.contains("lastSequence"), "no change event, so no customer: \(feeds.stdout)")

        let real = try await Executables.run("crmctl", arguments, directory: folder)
        #expect(real.status == 3, "\(real.stderr)")
        #expect(real.stdout.contains(#""created":2"#) && real.stdout.contains(#""rejected":2"#) && real.stdout.contains(#""dryRun":false"#))
        #expect(real.stdout.contains(#""createdWithPossibleDuplicates":1"#), "\(real.stdout)")
        let rejected = try file("legacy.csv.rejected.jsonl")
        #expect(rejected.count == 2, "\(rejected)")
        #expect(rejected.contains { $0.contains(#""line":"3""#) && $0.contains("source_id: is required") }, "\(rejected)")
        #expect(rejected.contains { $0.contains(#""line":"5""#) && $0.contains(#""birth_date: "#) }, "\(rejected)")
        #expect(!rejected.contains { $0.contains("profile.") }, "no protobuf paths: \(rejected)")
        let duplicates = try file("legacy.csv.duplicates.jsonl")
        #expect(duplicates.count == 1 && duplicates[0].contains(#""line":"4""#) && duplicates[0].contains("C0000000001"), "\(duplicates)")
        #expect(real.stderr.isEmpty, "no progress when stderr is not a terminal: \(real.stderr)")
        #expect(await server.stop() == 0)
    }
}
