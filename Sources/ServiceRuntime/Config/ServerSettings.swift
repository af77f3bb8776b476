internal import Configuration
internal import Foundation
internal import SystemPackage
public import Logging
internal import NIOCore
public import WireProtocol
public import RPCTransport

/// Everything a server reads from its configuration: a JSON file plus `CRM_`-prefixed environment
/// variables, the environment winning (`listen.port` <- `CRM_LISTEN_PORT`). Every key is listed in
/// ``ServerSettings/keys`` and documented in docs/OPERATIONS.md. A key the file has but no server
/// knows, a value of the wrong type or out of range, or half a TLS setup is a ``ConfigurationError``
/// naming the key: one line, and the server exits non-zero.
public struct ServerSettings: Sendable {
    public var server: RPCServer.Configuration
    public var database: Store.Configuration
    /// How long a published change event is kept after every consumer acknowledged it.
    public var feedRetentionHours: Int = 168
    /// Where the feeds this server consumes come from, by producer name (`customer`).
    public var feedSources: [String: HostPort] = [:]
    /// What this server presents when it subscribes: a client certificate of the internal CA and
    /// that CA; nil subscribes over plain TCP (development only).
    public var feedTLS: TLSSettings?
    /// This server's consumer name at its producers; nil is the server's own name.
    public var feedConsumerName: String?
    public var logLevel: Logger.Level
    /// Where the admin listener (metrics, liveness, readiness) listens; nil: not at all. By
    /// default loopback on the listen port plus 2000 (7101 -> 9101), or a free port when the
    /// listen port is 0.
    public var admin: HostPort?

    public init(server: RPCServer.Configuration, database: Store.Configuration, logLevel: Logger.Level = .info) {
        self.server = server
        self.database = database
        self.logLevel = logLevel
        self.admin = Self.defaultAdmin(listenPort: server.port)
    }

    static func defaultAdmin(listenPort: Int) -> HostPort? {
        guard listenPort == 0 || listenPort + 2000 <= 65535 else { return nil }
        return HostPort(host: "127.0.0.1", port: listenPort == 0 ? 0 : listenPort + 2000)
    }

    /// Every key a server understands, with `feeds.<producer>.address` for each feed it may consume
    /// (`customer`): a feed address for a producer the server does not consume is an unknown key.
    public static func keys(feeds producers: [String]) -> Set<String> {
        commonKeys.union(producers.map { "feeds.\($0).address" })
    }

    /// The keys of every server, whatever feeds it consumes.
    public static let commonKeys: Set<String> = [
        "listen.host", "listen.port",
        "tls.certificate", "tls.key", "tls.ca", "tls.require_client_certificate",
        "limits.max_connections", "limits.max_concurrent_calls", "limits.max_frame_size",
        "timeouts.handshake_ms", "timeouts.idle_ms", "timeouts.drain_ms", "timeouts.max_call_ms",
        "callers.trust_identity", "handlers.on_event_loop",
        "database.path", "database.durability", "database.busy_timeout_ms", "database.cache_mib", "database.group_commit_limit",
        "database.readers",
        "feeds.retention_hours", "feeds.consumer_name", "feeds.tls.certificate", "feeds.tls.key", "feeds.tls.ca",
        "log.level",
        "admin.enabled", "admin.host", "admin.port",
    ]

    /// Reads the settings over `defaults`.
    ///
    /// - Parameters:
    ///   - file: a JSON file with nested objects (`{"listen": {"port": 7101}}`), or nil.
    ///   - environment: the process environment; only `CRM_` variables are read.
    ///   - keys: the keys this server accepts (``keys(feeds:)``); a server with settings of its own
    ///     (the gateway) passes its own set and reads its own keys from the file.
    public static func load(
        file: String?, environment: [String: String], defaults: ServerSettings, keys: Set<String> = commonKeys
    ) async throws(ConfigurationError) -> ServerSettings {
        var present = Set<String>()
        var providers: [any ConfigProvider] = []
        var scoped: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix("CRM_") {
            scoped[String(name.dropFirst(4))] = value
        }
        for key in keys where scoped[ConfigurationError.environmentName(key)] != nil { present.insert(key) }
        providers.append(EnvironmentVariablesProvider(environmentVariables: scoped))

        var fileValues: [String: ConfigContent?] = [:]
        if let file {
            let object = try readObject(file)
            // Scalars go to the reader; a list of objects (the gateway's callers) is a key the
            // server that owns it reads from the file itself.
            // A key written `section.*` is an object whose members the owning server reads and
            // checks itself (the gateway's roles, by role name).
            fileValues = JSONValue.object(object).flattened()
            let openSections = keys.filter { $0.hasSuffix(".*") }.map { $0.dropLast() }
            let unexpected = Set(fileValues.keys).subtracting(keys).filter { key in !openSections.contains { key.hasPrefix($0) } }
            if let unknown = unexpected.sorted().first {
                // `"listen": 27101` is a section written as a value, not a key nobody knows.
                if keys.contains(where: { $0.hasPrefix(unknown + ".") }) {
                    let members = keys.filter { $0.hasPrefix(unknown + ".") }.sorted().joined(separator: ", ")
                    throw ConfigurationError(
                        key: unknown, source: "file \(file)",
                        message: "must be an object (with \(members)), not \(render(fileValues[unknown] ?? nil))")
                }
                throw ConfigurationError(key: unknown, source: "file \(file)", message: "unknown key")
            }
            present.formUnion(fileValues.keys)
            var values: [AbsoluteConfigKey: ConfigValue] = [:]
            for (key, content) in fileValues {
                if let content { values[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = ConfigValue(content, isSecret: false) }
            }
            providers.append(InMemoryProvider(name: file, values: values))
        }
        let reader = Reader(
            config: ConfigReader(providers: providers), present: present, environment: scoped, file: file, fileObject: fileValues)
        return try reader.settings(over: defaults)
    }

    /// The keys read only at start (everything but TLS files and `log.level`) whose values differ
    /// from `old` to `new`: a reload that changes them warns that they wait for a restart.
    public static func restartOnlyChanges(from old: ServerSettings, to new: ServerSettings) -> [String] {
        let readAtStart: [(String, (ServerSettings) -> String)] = [
            ("listen.host", { $0.server.host }), ("listen.port", { "\($0.server.port)" }),
            ("limits.max_connections", { "\($0.server.maxConnections)" }),
            ("limits.max_concurrent_calls", { "\($0.server.hello.maxConcurrentStreams)" }),
            ("limits.max_frame_size", { "\($0.server.hello.maxFrameSize)" }),
            ("timeouts.handshake_ms", { "\($0.server.handshakeTimeout)" }), ("timeouts.idle_ms", { "\($0.server.idleTimeout)" }),
            ("timeouts.drain_ms", { "\($0.server.drainTimeout)" }), ("timeouts.max_call_ms", { "\($0.server.maxCallDuration)" }),
            ("callers.trust_identity", { "\($0.server.trustsCallerIdentity)" }),
            ("handlers.on_event_loop", { "\($0.server.unaryHandlersOnEventLoop)" }),
            ("tls.require_client_certificate", { "\($0.server.tls?.requireClientCertificate ?? false)" }),
            ("database.path", { $0.database.path }), ("database.durability", { "\($0.database.durability)" }),
            ("database.busy_timeout_ms", { "\($0.database.busyTimeoutSeconds)" }), ("database.cache_mib", { "\($0.database.cacheMiB)" }),
            ("database.group_commit_limit", { "\($0.database.groupCommitLimit)" }),
            ("database.readers", { "\($0.database.maximumReaderCount)" }),
            ("feeds.retention_hours", { "\($0.feedRetentionHours)" }),
            ("feeds.*.address", { $0.feedSources.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.host):\($0.value.port)" }.joined() }),
            ("feeds.consumer_name", { $0.feedConsumerName ?? "" }), ("feeds.tls", { "\(String(describing: $0.feedTLS))" }),
            ("admin", { $0.admin.map { "\($0.host):\($0.port)" } ?? "off" }),
        ]
        return readAtStart.filter { $0.1(old) != $0.1(new) }.map(\.0)
    }

    /// `listen.port` -> `LISTEN_PORT` (after the `CRM_` prefix).
    /// The file's top-level object; a syntax error names its line and column.
    static func readObject(_ file: String) throws(ConfigurationError) -> [String: JSONValue] {
        guard access(file, R_OK) == 0, let data = FileManager.default.contents(atPath: file) else {
            throw ConfigurationError(key: nil, message: "cannot read configuration file \(file): \(String(cString: strerror(errno)))")
        }
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw ConfigurationError(key: nil, message: "configuration file \(file) is not valid JSON\(Self.position(of: error, in: data))")
        }
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw ConfigurationError(key: nil, message: "configuration file \(file) is not a JSON object")
        }
        return object
    }

    /// ` at line L, column C` from Foundation's "around character N" (a byte offset), or nothing.
    static func position(of error: any Error, in data: Data) -> String {
        let text = "\(error)"
        guard let range = text.range(of: "character "),
            let offset = Int(text[range.upperBound...].prefix { $0.isNumber }), offset <= data.count
        else { return "" }
        let before = data.prefix(offset)
        let line = before.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? before.startIndex
        let column = String(decoding: data[lineStart..<before.endIndex], as: UTF8.self).count + 1
        return " at line \(line), column \(column)"
    }

    /// A file's value as JSON writes it.
    static func render(_ content: ConfigContent?) -> String {
        switch content {
        case .string(let value)?: "\"\(value)\""
        case .int(let value)?: "\(value)"
        case .double(let value)?: "\(value)"
        case .bool(let value)?: "\(value)"
        case .stringArray(let values)?: "[" + values.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        case .intArray(let values)?: "[" + values.map(String.init).joined(separator: ", ") + "]"
        case let other?: "\(other)"
        case nil: "a list of objects or null"
        }
    }

    /// Reads typed values, turning every failure into an error that names its key, where its
    /// value came from (the file or the environment variable) and the value.
    private struct Reader {
        let config: ConfigReader
        let present: Set<String>
        /// `CRM_` variables without the prefix.
        let environment: [String: String]
        let file: String?
        let fileObject: [String: ConfigContent?]

        /// `environment CRM_LISTEN_PORT` or `file /etc/crm/customer.json`.
        func source(_ key: String) -> String? {
            if environment[ConfigurationError.environmentName(key)] != nil { return "environment CRM_\(ConfigurationError.environmentName(key))" }
            return file.map { "file \($0)" }
        }

        /// The value as written: the variable's text, or the file's JSON value.
        func written(_ key: String) -> String {
            if let value = environment[ConfigurationError.environmentName(key)] { return "\"\(value)\"" }
            return ServerSettings.render(fileObject[key] ?? nil)
        }

        func failure(_ key: String, _ message: String) -> ConfigurationError {
            ConfigurationError(key: key, source: source(key), message: message)
        }

        func int(_ key: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
            guard present.contains(key) else { return nil }
            let value: Int
            do {
                value = try config.requiredInt(forKey: ConfigKey(key))
            } catch {
                throw failure(key, "\(written(key)) is not an integer")
            }
            guard range.contains(value) else {
                throw failure(key, "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }

        func string(_ key: String) throws(ConfigurationError) -> String? {
            guard present.contains(key) else { return nil }
            do {
                let value = try config.requiredString(forKey: ConfigKey(key))
                guard !value.isEmpty else { throw failure(key, "must not be empty") }
                return value
            } catch let error as ConfigurationError {
                throw error
            } catch {
                throw failure(key, "\(written(key)) is not a string")
            }
        }

        func bool(_ key: String) throws(ConfigurationError) -> Bool? {
            guard present.contains(key) else { return nil }
            do {
                return try config.requiredBool(forKey: ConfigKey(key))
            } catch {
                throw failure(key, "\(written(key)) is not true or false")
            }
        }

        func milliseconds(_ key: String) throws(ConfigurationError) -> TimeAmount? {
            try int(key, 1...86_400_000).map { .milliseconds(Int64($0)) }
        }

        func settings(over defaults: ServerSettings) throws(ConfigurationError) -> ServerSettings {
            var settings = defaults
            var server = settings.server
            if let host = try string("listen.host") { server.host = host }
            if let port = try int("listen.port", 0...65535) {
                server.port = port
                settings.admin = ServerSettings.defaultAdmin(listenPort: port)
            }
            if let host = try string("admin.host") { settings.admin = HostPort(host: host, port: settings.admin?.port ?? 0) }
            if let port = try int("admin.port", 0...65535) { settings.admin = HostPort(host: settings.admin?.host ?? "127.0.0.1", port: port) }
            if try bool("admin.enabled") == false { settings.admin = nil }

            let certificate = try string("tls.certificate")
            let key = try string("tls.key")
            let ca = try string("tls.ca")
            switch (certificate, key, ca) {
            case (nil, nil, nil):
                break
            case (let certificate?, let key?, let ca?):
                server.tls = TLSSettings(
                    certificateChainPath: certificate, privateKeyPath: key, trustRootsPath: ca,
                    requireClientCertificate: try bool("tls.require_client_certificate") ?? true)
            default:
                let missing = [("tls.certificate", certificate), ("tls.key", key), ("tls.ca", ca)].first { $0.1 == nil }!.0
                throw ConfigurationError(key: missing, message: "missing: TLS needs tls.certificate, tls.key and tls.ca")
            }

            if let value = try int("limits.max_connections", 1...1_000_000) { server.maxConnections = value }
            if let value = try int("limits.max_concurrent_calls", 1...100_000) { server.hello.maxConcurrentStreams = UInt32(value) }
            if let value = try int("limits.max_frame_size", FrameSizeLimit.minMaxFrameSize...FrameSizeLimit.hardMaxFrameSize) {
                server.hello.maxFrameSize = UInt32(value)
            }
            if let value = try milliseconds("timeouts.handshake_ms") { server.handshakeTimeout = value }
            if let value = try milliseconds("timeouts.idle_ms") { server.idleTimeout = value }
            if let value = try milliseconds("timeouts.drain_ms") { server.drainTimeout = value }
            if let value = try milliseconds("timeouts.max_call_ms") { server.maxCallDuration = value }
            if let value = try bool("callers.trust_identity") { server.trustsCallerIdentity = value }
            if let value = try bool("handlers.on_event_loop") { server.unaryHandlersOnEventLoop = value }
            settings.server = server

            if let path = try string("database.path") { settings.database.path = path }
            if let durability = try string("database.durability") {
                guard let value = Store.Durability(rawValue: durability) else {
                    throw failure("database.durability", "\"\(durability)\" is not one of full, normal")
                }
                settings.database.durability = value
            }
            if let value = try int("database.busy_timeout_ms", 0...600_000) { settings.database.busyTimeoutSeconds = Double(value) / 1000 }
            if let value = try int("database.cache_mib", 1...65_536) { settings.database.cacheMiB = value }
            if let value = try int("database.group_commit_limit", 1...4_096) { settings.database.groupCommitLimit = value }
            if let value = try int("database.readers", 1...64) { settings.database.maximumReaderCount = value }
            if let value = try int("feeds.retention_hours", 0...8_760) { settings.feedRetentionHours = value }
            for key in present.sorted() where key.hasPrefix("feeds.") && key.hasSuffix(".address") {
                let producer = String(key.dropFirst("feeds.".count).dropLast(".address".count))
                guard let address = try string(key) else { continue }
                guard let source = HostPort(parsing: address) else { throw failure(key, "\"\(address)\" is not host:port") }
                settings.feedSources[producer] = source
            }
            if let name = try string("feeds.consumer_name") { settings.feedConsumerName = name }
            switch (try string("feeds.tls.certificate"), try string("feeds.tls.key"), try string("feeds.tls.ca")) {
            case (nil, nil, nil):
                break
            case (let certificate?, let key?, let ca?):
                settings.feedTLS = TLSSettings(certificateChainPath: certificate, privateKeyPath: key, trustRootsPath: ca)
            case (let certificate, let key, _):
                let missing = certificate == nil ? "feeds.tls.certificate" : key == nil ? "feeds.tls.key" : "feeds.tls.ca"
                throw ConfigurationError(key: missing, message: "missing: subscribing over TLS needs feeds.tls.certificate, feeds.tls.key and feeds.tls.ca")
            }
            if let level = try string("log.level") {
                guard let value = Logger.Level(rawValue: level) else {
                    throw failure(
                        "log.level", "\"\(level)\" is not one of trace, debug, info, notice, warning, error, critical")
                }
                settings.logLevel = value
            }
            return settings
        }
    }
}

