public import Logging
internal import NIOCore
public import ServiceRuntime
internal import WireProtocol
public import CRMAPI
public import RPCTransport

/// Passes each call to the pool that serves its service id, after the caller's policy allowed it:
/// the body is not decoded, the caller identity metadata is replaced by the policy's, and the
/// deadline goes on with what is left of it.
public struct Forwarder: Sendable {
    let callers: CallerRegistry
    let pools: [UInt16: BackendPool]
    let logger: Logger

    public init(callers: CallerRegistry, pools: [BackendPool], logger: Logger) {
        var byService: [UInt16: BackendPool] = [:]
        for pool in pools {
            for service in pool.serviceIDs { byService[service] = pool }
        }
        self.callers = callers
        self.pools = byService
        self.logger = logger
    }

    /// Registers a forwarding handler for every method of every routed service. Other methods
    /// (System.*, answered by the gateway itself, and services no pool serves) are not forwarded.
    public func register(into router: inout RPCRouter) {
        for method in MethodRegistry.all where pools[method.id.service] != nil {
            router.registerForwarding(
                // A change feed subscription runs until its consumer leaves: a drain ends it.
                method, endsAtDrain: method.id.service == ServiceID.feed,
                unary: { payload, context in try await self.unary(method, payload, context) },
                stream: { payload, context, writer in try await self.stream(method, payload, context, writer) })
        }
    }

    func unary(_ method: MethodInfo, _ payload: ByteBuffer, _ context: ServerCallContext) async throws -> ByteBuffer {
        var metadata = try admitted(method, context)
        let pool = pools[method.id.service]!
        var tried = Set<String>()
        var attempt: UInt16 = 0
        while true {
            attempt += 1
            guard let instance = pool.pick(excluding: tried) else { throw Self.noBackend(pool, tried: tried) }
            tried.insert(instance.address)
            metadata.attempt = attempt
            do {
                return try await instance.withCall {
                    try await instance.client.call(method: method.id, payload: payload, metadata: metadata, timeout: try remaining(context))
                }
            } catch let error as RPCError where error.code == .unavailable {
                if error.reason == "CONNECT_FAILED", instance.markDown() {
                    logger.warning("backend down", metadata: ["pool": "\(pool.name)", "backend": "\(instance.address)", "error": "\(error.message)"])
                }
                // Another instance only when the first cannot have acted on the request, or when
                // a repeat is harmless: an idempotent method with the caller's idempotency key.
                let retryable = error.processing == .notProcessed || (method.isIdempotent && metadata.idempotencyKey != nil)
                guard retryable, attempt < 3 else { throw error }
            }
        }
    }

    func stream(_ method: MethodInfo, _ payload: ByteBuffer, _ context: ServerCallContext, _ writer: RawStreamWriter) async throws {
        let metadata = try admitted(method, context)
        let pool = pools[method.id.service]!
        guard let instance = pool.pick() else { throw Self.noBackend(pool, tried: []) }
        try await instance.withCall {
            let connection = try await instance.client.connection()
            let items = connection.serverStream(
                method: method.id, payload: payload, metadata: metadata, timeout: try remaining(context),
                window: metadata.initialCredit ?? Metadata.defaultInitialCredit)
            for try await item in items { try await writer.write(item) }
        }
    }

    /// Checks the caller's policy and rate, and returns the metadata to send on: the caller system,
    /// role and masking from the policy (whatever the client sent there is dropped); the end user as the
    /// calling system reported it.
    private func admitted(_ method: MethodInfo, _ context: ServerCallContext) throws(RPCError) -> Metadata {
        let policy = try callers.authorize(caller: context.peerIdentity, method: method)
        var metadata = context.metadata
        metadata.callerSystem = policy.name
        metadata.callerRole = policy.role
        metadata.masking = policy.masking.encoded
        return metadata
    }

    /// What is left of the caller's deadline.
    private func remaining(_ context: ServerCallContext) throws(RPCError) -> TimeAmount? {
        guard let deadline = context.deadline else { return nil }
        let left = deadline - .now()
        guard left > .zero else {
            throw RPCError(code: .deadlineExceeded, message: "the call's deadline passed", reason: .deadlineExceeded)
        }
        return left
    }

    private static func noBackend(_ pool: BackendPool, tried: Set<String>) -> RPCError {
        RPCError(
            code: .unavailable,
            message: tried.isEmpty ? "no \(pool.name) instance is up" : "no other \(pool.name) instance is up (tried \(tried.sorted().joined(separator: ", ")))",
            reason: .noBackend, processing: .notProcessed, retryAfterMilliseconds: 1_000)
    }
}
