public import GRDB
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI
public import RPCTransport

/// What a handler gets inside the transaction its access kind opened: the transaction's database
/// connection and who is calling.
public struct StoreTransaction {
    public let db: Database
    public let call: ServerCallContext
    private let knownCaller: Caller?

    public init(db: Database, call: ServerCallContext, caller: Caller? = nil) {
        self.db = db
        self.call = call
        self.knownCaller = caller
    }

    /// Who is calling. Made from the call's metadata when the binder did not make it already: read
    /// it once per handler.
    public var caller: Caller { knownCaller ?? Caller(context: call) }
}

/// A response that holds personal fields without being the read of one customer (a search, a
/// household): ``StoreBinder`` masks it by the caller's policy after its transaction, so that an
/// idempotent replay is masked for the caller who replays it.
public protocol MaskedForCaller {
    func masked(by policy: MaskingPolicy) -> Self
}

/// The ``MethodBinder`` of a service on a ``Store``: a read on one of the store's reader threads, a
/// change in one write transaction (idempotent when the call carries a key), a handler with its own
/// transactions given the call. The handlers land in ``router``.
public struct StoreBinder: MethodBinder {
    public typealias Transaction = StoreTransaction
    public typealias Call = ServerCallContext

    public var router: RPCRouter
    public let store: Store
    private let aroundChange: @Sendable (Database, () throws -> Void) throws -> Void

    /// - Parameter aroundChange: runs each change's body inside its write transaction (for example,
    ///   to write the change events of what the body changed once it is done).
    public init(
        router: RPCRouter, store: Store,
        aroundChange: @escaping @Sendable (Database, () throws -> Void) throws -> Void = { _, body in try body() }
    ) {
        self.router = router
        self.store = store
        self.aroundChange = aroundChange
    }

    public mutating func bindRead<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ body: @escaping @Sendable (Request, StoreTransaction) throws -> Response
    ) {
        let store = store
        if let mask = Self.masking(Response.self) {
            router.register(method) { request, call in
                let caller = Caller(context: call)
                let response = try await store.read { db in try body(request, StoreTransaction(db: db, call: call, caller: caller)) }
                return mask(response, caller.masking)
            }
        } else {
            router.register(method) { request, call in
                try await store.read { db in try body(request, StoreTransaction(db: db, call: call)) }
            }
        }
    }

    public mutating func bindChange<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ body: @escaping @Sendable (Request, StoreTransaction) throws -> Response
    ) {
        let store = store
        let aroundChange = aroundChange
        let mask = Self.masking(Response.self)
        router.register(method) { request, call in
            let caller = Caller(context: call)
            let response = try await store.write(idempotentFor: call, request: request) { db in
                var response: Response?
                try aroundChange(db) { response = try body(request, StoreTransaction(db: db, call: call, caller: caller)) }
                guard let response else { throw RPCError(code: .internal, message: "\(method.name) returned no answer") }
                return response
            }
            return mask.map { $0(response, caller.masking) } ?? response
        }
    }

    public mutating func bindCall<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ body: @escaping @Sendable (Request, ServerCallContext) async throws -> Response
    ) {
        router.register(method, handler: body)
    }

    public mutating func bindStream<Request, Item>(
        _ method: MethodDescriptor<Request, Item>,
        _ body: @escaping @Sendable (Request, ServerCallContext, @escaping StreamSend<Item>) async throws -> Void
    ) {
        router.register(method) { request, writer, call in
            try await body(request, call) { item in try await writer.write(item) }
        }
    }

    /// The masking of a response type that is ``MaskedForCaller``, decided once at registration.
    private static func masking<Response>(_ type: Response.Type) -> (@Sendable (Response, MaskingPolicy) -> Response)? {
        guard Response.self is any MaskedForCaller.Type else { return nil }
        return { response, policy in
            ((response as? any MaskedForCaller)?.masked(by: policy) as? Response) ?? response
        }
    }
}
