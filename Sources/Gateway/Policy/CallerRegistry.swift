public import Logging
internal import NIOConcurrencyHelpers
public import WireProtocol

/// The caller policies in force and what each caller uses now: open connections and the rate
/// limit's tokens. Shared by every connection; ``replace(_:)`` swaps the policies (SIGHUP) while
/// connections stay open.
public final class CallerRegistry: Sendable {
    private struct State {
        var policies: PolicySet
        var connections: [String: Int] = [:]
        var buckets: [String: TokenBucket] = [:]
    }

    private let state: NIOLockedValueBox<State>
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private let audit: Logger

    public init(policies: PolicySet, logger: Logger) {
        self.state = NIOLockedValueBox(State(policies: policies))
        self.start = clock.now
        var audit = logger
        audit[metadataKey: "audit"] = "gateway"
        self.audit = audit
    }

    public var policies: PolicySet { state.withLockedValue { $0.policies } }

    /// Puts new policies in force. A caller whose rate changed starts with a full new bucket; open
    /// connections keep their slots.
    public func replace(_ policies: PolicySet) {
        state.withLockedValue { state in
            for caller in policies.callers {
                if let old = state.policies.policy(named: caller.name), old.ratePerSecond != caller.ratePerSecond || old.burst != caller.burst {
                    state.buckets[caller.name] = nil
                }
            }
            state.policies = policies
        }
    }

    /// Lets a connection in for the caller one of `identities` names, counting it against the
    /// caller's connection limit until `release` runs.
    ///
    /// - Throws: UNAUTHENTICATED (`UNKNOWN_CALLER`) when no policy names the certificate;
    ///   RESOURCE_EXHAUSTED (`CALLER_CONNECTION_LIMIT`) when the caller has all its connections open.
    public func admit(identities: [String]) throws(RPCError) -> (policy: CallerPolicy, release: @Sendable () -> Void) {
        let result: Result<CallerPolicy, RPCError> = state.withLockedValue { state in
            guard let policy = state.policies.policy(forIdentities: identities) else {
                return .failure(
                    RPCError(code: .unauthenticated, message: "no caller policy names this certificate", reason: .unknownCaller,
                             processing: .notProcessed))
            }
            let open = state.connections[policy.name, default: 0]
            guard open < policy.maxConnections else {
                return .failure(
                    RPCError(code: .resourceExhausted, message: "caller \(policy.name) has \(open) connections open, its limit",
                             reason: .callerConnectionLimit, processing: .notProcessed, retryAfterMilliseconds: 1_000))
            }
            state.connections[policy.name] = open + 1
            return .success(policy)
        }
        switch result {
        case .failure(let error):
            audit.warning("connection refused", metadata: ["identities": "\(identities)", "reason": "\(error.reason)"])
            throw error
        case .success(let policy):
            let name = policy.name
            return (policy, { [state] in state.withLockedValue { $0.connections[name, default: 1] -= 1 } })
        }
    }

    /// How many connections a caller has open now.
    public func openConnections(of name: String) -> Int {
        state.withLockedValue { $0.connections[name, default: 0] }
    }

    /// Checks one call: the caller's policy (as in force now) must allow the method, and its rate
    /// limit must have a token.
    ///
    /// - Throws: UNAUTHENTICATED when the caller's policy was removed since it connected;
    ///   PERMISSION_DENIED (`METHOD_NOT_ALLOWED`, with an audit line) for a method outside its
    ///   policy; RESOURCE_EXHAUSTED (`RATE_LIMITED`, with retry-after) over its rate.
    public func authorize(caller name: String?, method: MethodInfo) throws(RPCError) -> CallerPolicy {
        let now = clock.now - start
        let result: Result<CallerPolicy, RPCError> = state.withLockedValue { state in
            guard let name, let policy = state.policies.policy(named: name) else {
                return .failure(
                    RPCError(code: .unauthenticated, message: "the caller's policy is no longer in force", reason: .unknownCaller,
                             processing: .notProcessed))
            }
            guard policy.allows(method) else {
                return .failure(
                    RPCError(code: .permissionDenied, message: "caller \(name) may not call \(method.name)", reason: .methodNotAllowed,
                             processing: .notProcessed))
            }
            var bucket = state.buckets[name] ?? TokenBucket(ratePerSecond: policy.ratePerSecond, burst: policy.burst, now: now)
            let decision = bucket.take(now: now)
            state.buckets[name] = bucket
            if case .refused(let wait) = decision {
                return .failure(
                    RPCError(code: .resourceExhausted, message: "caller \(name) is over its rate of \(policy.ratePerSecond)/s",
                             reason: .rateLimited, processing: .notProcessed, retryAfterMilliseconds: wait))
            }
            return .success(policy)
        }
        switch result {
        case .success(let policy):
            return policy
        case .failure(let error):
            if error.code == .permissionDenied || error.code == .unauthenticated {
                audit.warning(
                    "call refused", metadata: ["caller": "\(name ?? "-")", "method": "\(method.name)", "reason": "\(error.reason)"])
            }
            throw error
        }
    }
}
