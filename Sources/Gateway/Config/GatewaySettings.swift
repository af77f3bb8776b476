internal import Foundation
public import NIOCore
public import ServiceRuntime
internal import WireProtocol
public import RPCTransport

/// The gateway's configuration: the keys every server has (listen, tls, limits, timeouts, log)
/// plus its own: `tls.crl`, `backend_tls.*`, `health.*`, `backends`, `callers` and `roles`. Read from one
/// JSON file (required: the caller policies live there) with `CRM_` environment overrides for
/// the scalar keys. Every problem is a ``ConfigurationError`` naming the key.
public struct GatewaySettings: Sendable {
    public var server: ServerSettings
    /// PEM or DER file of CRLs from the client CA(s); nil checks no revocation.
    public var crlPath: String?
    /// Mutual TLS towards the services (internal CA); nil talks plain TCP (loopback only).
    public var backendTLS: TLSSettings?
    public var backends: [Backend]
    public var callers: PolicySet
    public var healthInterval: TimeAmount = .seconds(1)
    public var healthTimeout: TimeAmount = .seconds(1)
    /// How long opening a connection to an instance (TCP, TLS, HELLO) may take; one that takes
    /// longer fails the call or check that needed it and marks the instance down.
    public var backendConnectTimeout: TimeAmount = .seconds(3)

    public struct Backend: Sendable, Equatable {
        public var name: String
        public var services: [UInt16]
        public var instances: [HostPort]
    }

    /// Every key the gateway understands: the common server keys without the database and feed
    /// ones (the gateway holds no data) and without `handlers.on_event_loop` (its forwarding
    /// always runs on the event loop), and its own.
    public static let keys: Set<String> = ServerSettings.commonKeys
        .filter { !$0.hasPrefix("database.") && !$0.hasPrefix("feeds.") && $0 != "callers.trust_identity" && $0 != "handlers.on_event_loop" }
        .union([
            "tls.crl", "backend_tls.certificate", "backend_tls.key", "backend_tls.ca", "health.interval_ms", "health.timeout_ms",
            "health.connect_timeout_ms", "backends", "callers", "roles", "roles.*",
        ])

    /// Defaults: 127.0.0.1:7443 (deployments set listen.host), 5 s handshake timeout.
    public static var defaults: ServerSettings {
        ServerSettings(
            server: .init(host: "127.0.0.1", port: 7443, handshakeTimeout: .seconds(5)),
            database: .init(path: "/dev/null"))
    }

    public static func load(file: String, environment: [String: String]) async throws(ConfigurationError) -> GatewaySettings {
        let server = try await ServerSettings.load(file: file, environment: environment, defaults: defaults, keys: keys)
        guard let tls = server.server.tls else {
            throw ConfigurationError(key: "tls.certificate", message: "missing: the gateway serves mutual TLS only")
        }
        guard tls.requireClientCertificate else {
            throw ConfigurationError(key: "tls.require_client_certificate", message: "the gateway requires client certificates")
        }
        guard let data = FileManager.default.contents(atPath: file),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw ConfigurationError(key: nil, message: "cannot read configuration file \(file)") }

        let tlsSection = object["tls"] as? [String: Any]
        let crlPath = try optionalString(tlsSection?["crl"], key: "tls.crl", environment: environment)
        let backendSection = object["backend_tls"] as? [String: Any]
        let backendTLS: TLSSettings?
        switch (backendSection?["certificate"], backendSection?["key"], backendSection?["ca"]) {
        case (nil, nil, nil):
            backendTLS = nil
        case (let certificate as String, let key as String, let ca as String):
            backendTLS = TLSSettings(certificateChainPath: certificate, privateKeyPath: key, trustRootsPath: ca)
        default:
            throw ConfigurationError(key: "backend_tls", message: "needs certificate, key and ca, all strings")
        }
        var settings = GatewaySettings(
            server: server, crlPath: crlPath, backendTLS: backendTLS,
            backends: try parseBackends(object["backends"]),
            callers: try parseCallers(object["callers"], roles: try parseRoles(object["roles"])))
        let health = object["health"] as? [String: Any]
        if let value = try milliseconds(health?["interval_ms"], key: "health.interval_ms") { settings.healthInterval = value }
        if let value = try milliseconds(health?["timeout_ms"], key: "health.timeout_ms") { settings.healthTimeout = value }
        if let value = try milliseconds(health?["connect_timeout_ms"], key: "health.connect_timeout_ms") {
            settings.backendConnectTimeout = value
        }
        return settings
    }

    private static func optionalString(_ value: Any?, key: String, environment: [String: String]) throws(ConfigurationError) -> String? {
        if let override = environment["CRM_" + ConfigurationError.environmentName(key)] { return override }
        guard let value else { return nil }
        guard let text = value as? String, !text.isEmpty else { throw ConfigurationError(key: key, message: "must be a non-empty string") }
        return text
    }

    private static func milliseconds(_ value: Any?, key: String) throws(ConfigurationError) -> TimeAmount? {
        guard let value else { return nil }
        guard let number = value as? Int, (10...600_000).contains(number) else {
            throw ConfigurationError(key: key, message: "must be an integer in 10...600000")
        }
        return .milliseconds(Int64(number))
    }

    /// `[{"name": "customer", "services": [2, 5], "instances": ["127.0.0.1:7101"]}]`
    static func parseBackends(_ value: Any?) throws(ConfigurationError) -> [Backend] {
        guard let list = value as? [[String: Any]], !list.isEmpty else {
            throw ConfigurationError(key: "backends", message: "must be a non-empty list of {name, services, instances}")
        }
        var backends: [Backend] = []
        var routed = Set<UInt16>()
        for (index, entry) in list.enumerated() {
            let key = "backends[\(index)]"
            guard let name = entry["name"] as? String, !name.isEmpty else { throw ConfigurationError(key: key + ".name", message: "must be a non-empty string") }
            guard let services = entry["services"] as? [Int], !services.isEmpty,
                services.allSatisfy({ (2...UInt16.max).contains(UInt16(clamping: $0)) && $0 <= Int(UInt16.max) })
            else {
                throw ConfigurationError(key: key + ".services", message: "must list service ids (2 customer, 3 marketing, 4 service desk, 5 feed)")
            }
            for service in services {
                guard routed.insert(UInt16(service)).inserted else {
                    throw ConfigurationError(key: key + ".services", message: "service \(service) is routed by two backends")
                }
            }
            guard let addresses = entry["instances"] as? [String], !addresses.isEmpty else {
                throw ConfigurationError(key: key + ".instances", message: "must list host:port addresses")
            }
            var instances: [HostPort] = []
            for address in addresses {
                guard let instance = HostPort(parsing: address) else {
                    throw ConfigurationError(key: key + ".instances", message: "\"\(address)\" is not host:port")
                }
                instances.append(instance)
            }
            backends.append(Backend(name: name, services: services.map { UInt16($0) }, instances: instances))
        }
        return backends
    }

    /// `[{"identity": "core-banking.bank.internal", "name": "core-banking", "role": "servicing",
    ///    "allow": ["Customer.*"], "rate_per_second": 500, "burst": 1000, "max_connections": 16}]`
    static func parseCallers(_ value: Any?, roles: [String: MaskingPolicy] = [:]) throws(ConfigurationError) -> PolicySet {
        guard let list = value as? [[String: Any]] else {
            throw ConfigurationError(key: "callers", message: "must be a list of caller policies")
        }
        let known: Set<String> = ["identity", "name", "role", "allow", "rate_per_second", "burst", "max_connections"]
        var callers: [CallerPolicy] = []
        for (index, entry) in list.enumerated() {
            let key = "callers[\(index)]"
            if let unknown = Set(entry.keys).subtracting(known).sorted().first {
                throw ConfigurationError(key: "\(key).\(unknown)", message: "unknown key")
            }
            guard let identity = entry["identity"] as? String, let name = entry["name"] as? String, let role = entry["role"] as? String else {
                throw ConfigurationError(key: key, message: "needs identity, name and role (strings)")
            }
            guard let allow = entry["allow"] as? [String] else {
                throw ConfigurationError(key: key + ".allow", message: "must be a list of method patterns")
            }
            var patterns: [MethodPattern] = []
            for text in allow {
                do {
                    patterns.append(try MethodPattern(text))
                } catch {
                    throw ConfigurationError(key: key + ".allow", message: error.description)
                }
            }
            var policy = CallerPolicy(identity: identity, name: name, role: role, allow: patterns, masking: roles[role])
            if let rate = entry["rate_per_second"] as? Double { policy.ratePerSecond = rate }
            if let burst = entry["burst"] as? Double { policy.burst = burst }
            if let connections = entry["max_connections"] as? Int { policy.maxConnections = connections }
            callers.append(policy)
        }
        do {
            return try PolicySet(callers)
        } catch {
            throw ConfigurationError(key: "callers", message: error.description)
        }
    }

    /// `{"reporting": {"name": "partial", "birth_date": "withheld", "document": "partial",
    ///   "phone": "partial", "email": "partial", "address": "withheld"}}`: how each role sees each
    /// personal field. A field a role does not name is withheld. A role named here replaces the
    /// built-in one of that name (``MaskingPolicy/builtInRoles``); a role named nowhere is
    /// ``MaskingPolicy/restricted``.
    static func parseRoles(_ value: Any?) throws(ConfigurationError) -> [String: MaskingPolicy] {
        guard let value else { return [:] }
        guard let object = value as? [String: Any] else {
            throw ConfigurationError(key: "roles", message: "must be an object of role name to {field: treatment}")
        }
        let fields = MaskingPolicy.Field.allCases.map(\.rawValue).joined(separator: ", ")
        let treatments = MaskingPolicy.Treatment.allCases.map(\.rawValue).joined(separator: ", ")
        var roles: [String: MaskingPolicy] = [:]
        for (role, entry) in object.sorted(by: { $0.key < $1.key }) {
            guard !role.isEmpty, let entry = entry as? [String: Any] else {
                throw ConfigurationError(key: "roles.\(role)", message: "must be an object of field to treatment")
            }
            var policy: [MaskingPolicy.Field: MaskingPolicy.Treatment] = [:]
            for (name, treatment) in entry.sorted(by: { $0.key < $1.key }) {
                guard let field = MaskingPolicy.Field(rawValue: name) else {
                    throw ConfigurationError(key: "roles.\(role).\(name)", message: "unknown field; the fields are \(fields)")
                }
                guard let text = treatment as? String, let treatment = MaskingPolicy.Treatment(rawValue: text) else {
                    throw ConfigurationError(key: "roles.\(role).\(name)", message: "must be one of \(treatments)")
                }
                policy[field] = treatment
            }
            roles[role] = MaskingPolicy(policy)
        }
        return roles
    }
}
