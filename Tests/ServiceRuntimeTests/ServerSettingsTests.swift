import Foundation
import Logging
import NIOCore
import ServiceRuntime
import Testing
internal import RPCTransport
internal import WireProtocol

@Suite("Server configuration")
struct ServerSettingsTests {
    static let defaults = ServerSettings(
        server: RPCServer.Configuration(port: 7101), database: Store.Configuration(path: "var/data/customer.sqlite"))

    func file(_ json: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-config-\(UUID().uuidString).json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The keys of a server that consumes the customer feed.
    static let keys = ServerSettings.keys(feeds: ["customer"])

    func error(file: String?, environment: [String: String] = [:], keys: Set<String> = keys) async -> ConfigurationError? {
        do {
            _ = try await ServerSettings.load(file: file, environment: environment, defaults: Self.defaults, keys: keys)
            return nil
        } catch {
            return error
        }
    }

    @Test("a file sets values, the environment overrides them, the rest keep their defaults")
    func layering() async throws {
        let path = try file(
            """
            {"listen": {"host": "0.0.0.0", "port": 7201},
             "limits": {"max_concurrent_calls": 64, "max_frame_size": 1048576},
             "timeouts": {"idle_ms": 90000},
             "handlers": {"on_event_loop": true},
             "database": {"path": "/var/lib/crm/customer.sqlite", "durability": "normal", "cache_mib": 512, "readers": 2},
             "feeds": {"retention_hours": 24},
             "log": {"level": "warning"}}
            """)
        let settings = try await ServerSettings.load(
            file: path, environment: ["CRM_LISTEN_PORT": "7301", "CRM_LOG_LEVEL": "debug", "PATH": "/bin"], defaults: Self.defaults)
        #expect(settings.server.host == "0.0.0.0")
        #expect(settings.server.port == 7301)
        #expect(settings.server.hello.maxConcurrentStreams == 64)
        #expect(settings.server.hello.maxFrameSize == 1_048_576)
        #expect(settings.server.idleTimeout == .seconds(90))
        #expect(settings.server.handshakeTimeout == Self.defaults.server.handshakeTimeout)
        #expect(settings.server.unaryHandlersOnEventLoop)
        #expect(!Self.defaults.server.unaryHandlersOnEventLoop)
        #expect(settings.database.path == "/var/lib/crm/customer.sqlite")
        #expect(settings.database.durability == .normal)
        #expect(settings.database.cacheMiB == 512)
        #expect(settings.database.maximumReaderCount == 2)
        #expect(settings.feedRetentionHours == 24)
        #expect(settings.logLevel == .debug)
        #expect(settings.server.tls == nil)
    }

    @Test("every service's example configuration in deploy/config is valid (the gateway's is checked with the gateway)")
    func deployedExamples() async throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/config")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") && !$0.hasPrefix("gateway") }
        #expect(!files.isEmpty)
        for file in files {
            let settings = try await ServerSettings.load(
                file: folder.appendingPathComponent(file).path, environment: [:], defaults: Self.defaults,
                keys: ServerSettings.keys(feeds: ["customer", "servicedesk", "marketing"]))
            #expect(settings.server.tls != nil, "\(file): production examples use TLS")
        }
    }

    @Test("feed sources: an address per producer, the subscribing certificate all or nothing, bad addresses named")
    func feedSources() async throws {
        let settings = try await ServerSettings.load(
            file: try file(
                #"{"feeds": {"customer": {"address": "crm-customer.internal:7101"}, "tls": {"certificate": "c.pem", "key": "c.key", "ca": "ca.pem"}}}"#),
            environment: ["CRM_FEEDS_CONSUMER_NAME": "servicedesk-2"], defaults: Self.defaults, keys: Self.keys)
        #expect(settings.feedSources == ["customer": HostPort(host: "crm-customer.internal", port: 7101)])
        #expect(settings.feedTLS?.certificateChainPath == "c.pem")
        #expect(settings.feedConsumerName == "servicedesk-2")
        #expect(await error(file: nil, environment: ["CRM_FEEDS_CUSTOMER_ADDRESS": "crm-customer"])?.key == "feeds.customer.address")
        #expect(await error(file: nil, environment: ["CRM_FEEDS_CUSTOMER_ADDRESS": "host:0"])?.key == "feeds.customer.address")
        #expect(await error(file: nil, environment: ["CRM_FEEDS_TLS_CERTIFICATE": "c.pem", "CRM_FEEDS_TLS_CA": "ca.pem"])?.key == "feeds.tls.key")
        #expect(await error(file: try file(#"{"feeds": {"billing": {"address": "h:1"}}}"#))?.key == "feeds.billing.address")
        // A server that consumes no feed refuses a feed address as an unknown key.
        let unconsumed = await error(file: try file(#"{"feeds": {"customer": {"address": "h:1"}}}"#), keys: ServerSettings.commonKeys)
        #expect(unconsumed?.key == "feeds.customer.address")
        #expect(unconsumed?.message.contains("unknown") == true, "\(String(describing: unconsumed))")
    }

    @Test("no file and no environment: the defaults")
    func defaultsOnly() async throws {
        let settings = try await ServerSettings.load(file: nil, environment: [:], defaults: Self.defaults)
        #expect(settings.server.port == 7101)
        #expect(settings.database.durability == .full)
    }

    @Test("the admin listener: loopback on the listen port + 2000 by default, a free port with listen port 0, its own host and port, or off")
    func adminListener() async throws {
        #expect(try await ServerSettings.load(file: nil, environment: [:], defaults: Self.defaults).admin == HostPort(host: "127.0.0.1", port: 9101))
        #expect(try await ServerSettings.load(file: nil, environment: ["CRM_LISTEN_PORT": "0"], defaults: Self.defaults).admin?.port == 0)
        let moved = try await ServerSettings.load(
            file: try file(#"{"listen": {"port": 7201}, "admin": {"host": "0.0.0.0", "port": 9999}}"#), environment: [:], defaults: Self.defaults)
        #expect(moved.admin == HostPort(host: "0.0.0.0", port: 9999))
        #expect(try await ServerSettings.load(file: nil, environment: ["CRM_ADMIN_ENABLED": "false"], defaults: Self.defaults).admin == nil)
        #expect(await error(file: nil, environment: ["CRM_ADMIN_PORT": "-1"])?.key == "admin.port")
    }

    @Test("an unknown key in the file is named")
    func unknownKey() async throws {
        let found = await error(file: try file(#"{"listen": {"prot": 7101}}"#))
        #expect(found?.key == "listen.prot")
        #expect(found?.description.contains("unknown key") == true)
    }

    @Test("a value of the wrong type is named, from the file or the environment")
    func wrongType() async throws {
        #expect(await error(file: try file(#"{"listen": {"port": "seven"}}"#))?.key == "listen.port")
        #expect(await error(file: nil, environment: ["CRM_LISTEN_PORT": "seven"])?.key == "listen.port")
        #expect(await error(file: nil, environment: ["CRM_CALLERS_TRUST_IDENTITY": "maybe"])?.key == "callers.trust_identity")
        #expect(await error(file: nil, environment: ["CRM_HANDLERS_ON_EVENT_LOOP": "maybe"])?.key == "handlers.on_event_loop")
    }

    @Test("out-of-range and unknown enumerated values are named")
    func outOfRange() async throws {
        #expect(await error(file: nil, environment: ["CRM_LISTEN_PORT": "70000"])?.key == "listen.port")
        #expect(await error(file: nil, environment: ["CRM_LIMITS_MAX_FRAME_SIZE": "99999999"])?.key == "limits.max_frame_size")
        #expect(await error(file: nil, environment: ["CRM_DATABASE_DURABILITY": "sometimes"])?.key == "database.durability")
        #expect(await error(file: nil, environment: ["CRM_DATABASE_CACHE_MIB": "0"])?.key == "database.cache_mib")
        #expect(await error(file: nil, environment: ["CRM_DATABASE_READERS": "0"])?.key == "database.readers")
        #expect(await error(file: nil, environment: ["CRM_DATABASE_READERS": "65"])?.key == "database.readers")
        #expect(await error(file: nil, environment: ["CRM_FEEDS_RETENTION_HOURS": "-1"])?.key == "feeds.retention_hours")
        #expect(await error(file: nil, environment: ["CRM_LOG_LEVEL": "loud"])?.key == "log.level")
    }

    @Test("half a TLS setup names the missing key")
    func partialTLS() async throws {
        let found = await error(file: nil, environment: ["CRM_TLS_CERTIFICATE": "/etc/crm/server.pem", "CRM_TLS_CA": "/etc/crm/ca.pem"])
        #expect(found?.key == "tls.key")
        #expect(found?.description == "configuration error: tls.key (env CRM_TLS_KEY): missing: TLS needs tls.certificate, tls.key and tls.ca")
    }

    @Test("a missing or malformed file is one clear error")
    func badFile() async throws {
        #expect(await error(file: "/nonexistent/crm.json")?.description.contains("cannot read configuration file") == true)
        #expect(await error(file: try file("[1, 2]"))?.description.contains("is not a JSON object") == true)
        #expect(await error(file: "/nonexistent/crm.json")?.description.contains("No such file or directory") == true)
        #expect(await error(file: try file("{not json"))?.description.contains("is not valid JSON at line 1, column 2") == true)
        let multiline = await error(file: try file("{\n  \"listen\": {\n    \"port\": 7101 x\n  }\n}"))
        #expect(multiline?.description.contains("at line 3, column 18") == true, "\(String(describing: multiline))")
    }

    @Test("a section written as a value is a wrong type, naming the keys it holds")
    func sectionAsValue() async throws {
        let found = await error(file: try file(#"{"listen": 27101}"#))
        #expect(found?.key == "listen")
        #expect(found?.description.contains("must be an object (with listen.host, listen.port), not 27101") == true, "\(String(describing: found))")
        #expect(await error(file: try file(#"{"database": "x.sqlite"}"#))?.description.contains(#"not "x.sqlite""#) == true)
    }

    @Test("a wrong type names where the value came from and the value")
    func wrongTypeSourceAndValue() async throws {
        let path = try file(#"{"listen": {"port": "seven"}, "admin": {"enabled": 1}}"#)
        #expect(await error(file: path)?.description == #"configuration error: listen.port (file \#(path)): "seven" is not an integer"#)
        #expect(
            await error(file: path, environment: ["CRM_LISTEN_PORT": "7201"])?.description
                == "configuration error: admin.enabled (file \(path)): 1 is not true or false")
        let fromEnvironment = await error(file: path, environment: ["CRM_LISTEN_PORT": "eight", "CRM_ADMIN_ENABLED": "false"])
        #expect(fromEnvironment?.description == #"configuration error: listen.port (environment CRM_LISTEN_PORT): "eight" is not an integer"#)
    }

    @Test("the keys read only at start that a reload would change")
    func restartOnlyChanges() {
        var started = Self.defaults
        started.server.tls = TLSSettings(certificateChainPath: "old.pem", privateKeyPath: "old.key", trustRootsPath: "ca.pem")
        var changed = started
        #expect(ServerSettings.restartOnlyChanges(from: started, to: changed).isEmpty)
        // What a reload does put in force: new files and the log level.
        changed.logLevel = .debug
        changed.server.tls = TLSSettings(certificateChainPath: "new.pem", privateKeyPath: "new.key", trustRootsPath: "ca.pem")
        #expect(ServerSettings.restartOnlyChanges(from: started, to: changed).isEmpty)
        changed.server.tls?.requireClientCertificate = false
        changed.server.port = 7201
        changed.database.path = "/elsewhere.sqlite"
        changed.feedSources["customer"] = HostPort(host: "h", port: 1)
        #expect(
            ServerSettings.restartOnlyChanges(from: started, to: changed)
                == ["listen.port", "tls.require_client_certificate", "database.path", "feeds.*.address"])
    }
}
