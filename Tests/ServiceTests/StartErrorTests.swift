import Foundation
import ServiceRuntime
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// How the servers start, or refuse to: every start error is one line on stderr naming the key and
/// the file, folder or port at fault, with exit status 78 for a configuration error and 1 for
/// anything else, and it comes before the database is opened (no migration runs, no file is made).
@Suite("Start errors", .serialized)
struct StartErrorTests {
    static let pki = GatewayHarness.pki
    static let servers = ["crm-customer", "crm-marketing", "crm-servicedesk", "crm-gateway"]

    /// A refused start: its status and the words its one line must hold.
    struct Refusal: Sendable, CustomStringConvertible {
        var name: String
        var environment: [String: String] = [:]
        var file: String?
        var status: Int32 = 78
        var says: [String]
        var description: String { name }
    }

    static let tlsFiles = [
        "CRM_TLS_CERTIFICATE": pki.path("service.pem"), "CRM_TLS_KEY": pki.path("service.key"), "CRM_TLS_CA": pki.path("internal-ca.pem"),
    ]

    static let refusals: [Refusal] = [
        Refusal(name: "no database path", environment: ["CRM_DATABASE_PATH": "unset"], says: ["database.path", "missing"]),
        Refusal(
            name: "a certificate file that is not there", environment: tlsFiles.merging(["CRM_TLS_CERTIFICATE": "/nonexistent/server.pem"]) { $1 },
            says: ["tls.certificate", "/nonexistent/server.pem", "No such file"]),
        Refusal(
            name: "a key file that is no key", environment: tlsFiles.merging(["CRM_TLS_KEY": "garbage.key"]) { $1 },
            says: ["tls.key", "garbage.key", "no unencrypted PEM private key"]),
        Refusal(
            name: "a key of another certificate", environment: tlsFiles.merging(["CRM_TLS_KEY": pki.path("client.key")]) { $1 },
            says: ["tls.key", "client.key", "service.pem", "do not make a TLS identity"]),
        Refusal(
            name: "a CA file that holds no certificate", environment: tlsFiles.merging(["CRM_TLS_CA": "garbage.key"]) { $1 },
            says: ["tls.ca", "garbage.key", "no PEM certificate"]),
        Refusal(
            name: "a data folder that cannot be made", environment: ["CRM_DATABASE_PATH": "a-file/data/customer.sqlite"],
            says: ["database.path", "a-file", "is a file"]),
        Refusal(name: "a JSON syntax error", file: "{\n  \"listen\": {\"port\": 0}\n  \"log\": 1\n}", says: ["not valid JSON", "line 3, column 3"]),
        Refusal(
            name: "a section written as a value", file: #"{"listen": 27101}"#,
            says: ["listen", "must be an object", "listen.port", "not 27101", "file config.json"]),
        Refusal(
            name: "a value of the wrong type in the environment", environment: ["CRM_LISTEN_PORT": "seventy"],
            says: ["listen.port", "environment CRM_LISTEN_PORT", #""seventy" is not an integer"#]),
        Refusal(
            name: "a value of the wrong type in the file", file: #"{"database": {"readers": "two"}}"#,
            says: ["database.readers", "file config.json", #""two" is not an integer"#]),
        Refusal(name: "a port another process listens on", environment: ["CRM_LISTEN_PORT": "taken"], status: 1, says: ["listen.port", "Address already in use"]),
    ]

    @Test("crm-customer refuses to start, in one line naming what is wrong, before it opens a database", arguments: refusals)
    func refusal(_ refusal: Refusal) async throws {
        let folder = try TemporaryFolder("crm-start")
        try Data("not a key\n".utf8).write(to: folder.url.appendingPathComponent("garbage.key"))
        try Data("a file where a folder should be\n".utf8).write(to: folder.url.appendingPathComponent("a-file"))
        let taken = try ListeningSocket()
        var environment = ["CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": folder.path("data/customer.sqlite")]
        environment.merge(refusal.environment) { $1 }
        if environment["CRM_LISTEN_PORT"] == "taken" { environment["CRM_LISTEN_PORT"] = "\(taken.port)" }
        if environment["CRM_DATABASE_PATH"] == "unset" { environment["CRM_DATABASE_PATH"] = nil }
        var arguments: [String] = []
        if let file = refusal.file {
            try Data(file.utf8).write(to: folder.url.appendingPathComponent("config.json"))
            arguments = ["--config", "config.json"]
        }
        let result = try await Executables.run("crm-customer", arguments, environment: environment, directory: folder.url)
        #expect(result.status == refusal.status, "\(result.stderr)\(result.stdout)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(result.stderr)")
        #expect(result.stderr.hasPrefix("crm-customer: "))
        for words in refusal.says { #expect(result.stderr.contains(words), "\(words) in: \(result.stderr)") }
        if refusal.status == 1 { #expect(result.stderr.contains("127.0.0.1:\(taken.port)"), "the port is named") }
        #expect(!result.stdout.contains("database open"), "no database opened: \(result.stdout)")
        #expect(!FileManager.default.fileExists(atPath: folder.path("data/customer.sqlite")))
        #expect(!FileManager.default.fileExists(atPath: folder.path("var")), "no database under the current folder")
    }

    @Test("a consumed feed without its producer's address, or a gateway with no certificate, is refused before anything opens")
    func otherServers() async throws {
        let folder = try TemporaryFolder("crm-start")
        let marketing = try await Executables.run(
            "crm-marketing", [], environment: ["CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": folder.path("marketing.sqlite")], directory: folder.url)
        #expect(marketing.status == 78)
        #expect(marketing.stderr == "crm-marketing: configuration error: feeds.customer.address (env CRM_FEEDS_CUSTOMER_ADDRESS): missing: crm-marketing applies the customer feed\n")
        #expect(!FileManager.default.fileExists(atPath: folder.path("marketing.sqlite")), "no migration ran")

        var config = GatewayProcessTests.gatewayConfig(customerPort: 1, reportingAllows: ["Customer.Get"])
        var tls = config["tls"] as! [String: Any]
        tls["key"] = folder.path("missing.key")
        config["tls"] = tls
        try JSONSerialization.data(withJSONObject: config).write(to: folder.url.appendingPathComponent("gateway.json"))
        let gateway = try await Executables.run("crm-gateway", ["--config", "gateway.json"], directory: folder.url)
        #expect(gateway.status == 78)
        #expect(gateway.stderr.contains("crm-gateway: configuration error: tls.key"), "\(gateway.stderr)")
        #expect(gateway.stderr.contains("missing.key"))
        #expect(gateway.stderr.split(separator: "\n").count == 1)

        // Two client CAs and a CRL for one only: the other CA's callers would all be refused.
        let bundle = folder.path("two-cas.pem")
        try (String(contentsOfFile: GatewayHarness.pki.path("ca.pem"), encoding: .utf8)
            + String(contentsOfFile: GatewayHarness.pki.path("other-ca.pem"), encoding: .utf8)).write(toFile: bundle, atomically: true, encoding: .utf8)
        tls = GatewayProcessTests.gatewayConfig(customerPort: 1, reportingAllows: ["Customer.Get"])["tls"] as! [String: Any]
        tls["ca"] = bundle
        config["tls"] = tls
        try JSONSerialization.data(withJSONObject: config).write(to: folder.url.appendingPathComponent("gateway.json"))
        // (--check-config runs the same checks, and cannot hang in serving if they miss this.)
        let uncovered = try await Executables.run("crm-gateway", ["--config", "gateway.json", "--check-config"], directory: folder.url)
        #expect(uncovered.status == 78)
        #expect(uncovered.stderr.hasPrefix("crm-gateway: configuration error: tls.crl"), "\(uncovered.stderr)")
        #expect(uncovered.stderr.contains("no CRL for the client CA CN=other-ca"))
        #expect(uncovered.stderr.split(separator: "\n").count == 1)
    }

    @Test("every server prints the build's one version and its usage; an unknown argument is exit status 64")
    func versionAndUsage() async throws {
        for server in Self.servers {
            let version = try await Executables.run(server, ["--version"])
            #expect(version.status == 0)
            #expect(version.stdout == "\(server) \(BuildVersion.current)\n")
            let help = try await Executables.run(server, ["--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("USAGE: \(server) [--config <config>] [--check-config] [--version]"), "\(help.stdout)")
            let unknown = try await Executables.run(server, ["--verbose"])
            #expect(unknown.status == 64)
            #expect(unknown.stderr.contains("Unknown option '--verbose'"))
        }
    }

    @Test("--check-config: exit 0 with OK for a configuration that would start, 78 for one that would not, and no database either way")
    func checkConfig() async throws {
        let folder = try TemporaryFolder("crm-start")
        var environment = Self.tlsFiles
        environment["CRM_LISTEN_PORT"] = "0"
        environment["CRM_DATABASE_PATH"] = folder.path("data/customer.sqlite")
        let good = try await Executables.run("crm-customer", ["--check-config"], environment: environment, directory: folder.url)
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout == "crm-customer: configuration OK (no file, defaults and environment)\n")
        environment["CRM_TLS_CA"] = "/nonexistent/ca.pem"
        let bad = try await Executables.run("crm-customer", ["--check-config"], environment: environment, directory: folder.url)
        #expect(bad.status == 78)
        #expect(bad.stderr.contains("tls.ca"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("data/customer.sqlite")))

        let config = GatewayProcessTests.gatewayConfig(customerPort: 1, reportingAllows: ["Customer.Get"])
        try JSONSerialization.data(withJSONObject: config).write(to: folder.url.appendingPathComponent("gateway.json"))
        let gateway = try await Executables.run("crm-gateway", ["--config", "gateway.json", "--check-config"], directory: folder.url)
        #expect(gateway.status == 0, "\(gateway.stderr)")
        #expect(gateway.stdout == "crm-gateway: configuration OK (gateway.json)\n")
    }

    @Test("a SIGHUP that changes a key read only at start warns, naming the key, and keeps serving")
    func reloadWarnsOfRestartOnlyKeys() async throws {
        let folder = try TemporaryFolder("crm-start")
        let file = folder.url.appendingPathComponent("customer.json")
        func write(_ settings: [String: Any]) throws {
            try JSONSerialization.data(withJSONObject: settings).write(to: file)
        }
        let database: [String: Any] = ["path": folder.path("customer.sqlite")]
        try write(["listen": ["port": 0], "database": database, "log": ["level": "info"]])
        let (server, port) = try await ServerProcess.start("crm-customer", ["--config", "customer.json"], directory: folder.url)
        try write(["listen": ["port": port + 1], "database": database.merging(["readers": 5] as [String: Any]) { $1 }, "log": ["level": "info"]])
        server.hangUp()
        let warned = await eventually { server.log.contains("take effect only after a restart") }
        #expect(warned, "\(server.log)")
        let line = server.log.split(separator: "\n").first { $0.contains("take effect only after a restart") } ?? ""
        #expect(line.contains("keys=listen.port,database.readers"), "\(line)")
        #expect(line.contains("warning"))

        // Back to the values the server started with: reloaded, and nothing waits for a restart.
        try write(["listen": ["port": 0], "database": database, "log": ["level": "debug"]])
        server.hangUp()
        #expect(await eventually { server.log.components(separatedBy: "configuration reloaded").count == 3 }, "\(server.log)")
        #expect(server.log.components(separatedBy: "only after a restart").count == 2, "one warning, from the first reload")
        #expect(await server.stop() == 0)
    }
}

/// A loopback port some other process holds for as long as this lives.
final class ListeningSocket: Sendable {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 1) == 0 else { throw ServerProcessError(message: "cannot listen: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
