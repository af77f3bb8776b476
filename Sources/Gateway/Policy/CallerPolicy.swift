public import WireProtocol

/// What one calling system may do: who it is (a name its client certificate carries), what it is
/// called in the services' audit logs, its role and how that role sees personal data, the methods
/// it may call, and its limits.
public struct CallerPolicy: Sendable, Hashable {
    /// The certificate's subject common name or one of its subject alternative names (DNS, URI or
    /// email) that identifies this caller.
    public var identity: String
    /// The caller system name the services record (`callerSystem` metadata).
    public var name: String
    /// The caller's role (`callerRole` metadata), named in the services' logs.
    public var role: String
    /// How the role sees each personal field (`masking` metadata): the gateway's `roles`
    /// configuration, else ``MaskingPolicy/builtIn(role:)``.
    public var masking: MaskingPolicy
    public var allow: [MethodPattern]
    /// Calls per second over all of the caller's connections, and the burst above that rate.
    public var ratePerSecond: Double
    public var burst: Double
    public var maxConnections: Int

    public init(
        identity: String, name: String, role: String, allow: [MethodPattern], masking: MaskingPolicy? = nil,
        ratePerSecond: Double = 1_000, burst: Double = 2_000, maxConnections: Int = 64
    ) {
        self.identity = identity
        self.name = name
        self.role = role
        self.masking = masking ?? .builtIn(role: role)
        self.allow = allow
        self.ratePerSecond = ratePerSecond
        self.burst = burst
        self.maxConnections = maxConnections
    }

    public func allows(_ method: MethodInfo) -> Bool {
        allow.contains { $0.matches(method) }
    }
}

/// Every caller policy in force, looked up by certificate identity or by caller name.
public struct PolicySet: Sendable {
    public let callers: [CallerPolicy]
    private let byIdentity: [String: CallerPolicy]
    private let byName: [String: CallerPolicy]

    /// Checks that identities and names are unique and limits are positive.
    public init(_ callers: [CallerPolicy]) throws(PolicyError) {
        var byIdentity: [String: CallerPolicy] = [:]
        var byName: [String: CallerPolicy] = [:]
        for caller in callers {
            guard !caller.identity.isEmpty, !caller.name.isEmpty else { throw PolicyError("a caller needs an identity and a name") }
            guard byIdentity[caller.identity] == nil else { throw PolicyError("identity \"\(caller.identity)\" appears twice") }
            guard byName[caller.name] == nil else { throw PolicyError("caller name \"\(caller.name)\" appears twice") }
            guard caller.ratePerSecond > 0, caller.burst >= 1 else {
                throw PolicyError("caller \"\(caller.name)\": rate_per_second must be above 0 and burst at least 1")
            }
            guard caller.maxConnections >= 1 else { throw PolicyError("caller \"\(caller.name)\": max_connections must be at least 1") }
            byIdentity[caller.identity] = caller
            byName[caller.name] = caller
        }
        self.callers = callers
        self.byIdentity = byIdentity
        self.byName = byName
    }

    /// The policy of the first of `identities` (common name first, then alternative names) that has one.
    public func policy(forIdentities identities: [String]) -> CallerPolicy? {
        for identity in identities {
            if let policy = byIdentity[identity] { return policy }
        }
        return nil
    }

    public func policy(named name: String) -> CallerPolicy? { byName[name] }
}
