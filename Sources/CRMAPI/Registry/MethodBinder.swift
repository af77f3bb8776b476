public import SwiftProtobuf
public import WireProtocol

/// How a stream handler sends one item: it waits for the caller's credit.
public typealias StreamSend<Item> = @Sendable (Item) async throws -> Void

/// What a server does with each kind of method. The generated `register(into:)` of a service's
/// handler protocol (protoc-gen-crm) hands every method to a binder by the access kind of its rpc,
/// so which transaction a method runs in follows from the .proto, not from a line someone must
/// remember to write.
///
/// A binder is generic over what a handler gets: `Transaction` inside the transaction the binder
/// opens (the server's database connection and caller), `Call` for a handler that opens its own.
public protocol MethodBinder {
    associatedtype Transaction
    associatedtype Call

    /// ACCESS_READ: one read transaction.
    mutating func bindRead<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ body: @escaping @Sendable (Request, Transaction) throws -> Response)

    /// ACCESS_CHANGE: one write transaction, idempotent when the call carries a key.
    mutating func bindChange<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ body: @escaping @Sendable (Request, Transaction) throws -> Response)

    /// A unary method whose handler opens its own transactions.
    mutating func bindCall<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ body: @escaping @Sendable (Request, Call) async throws -> Response)

    /// A server stream: the handler opens its own transactions and sends each item.
    mutating func bindStream<Request, Item>(
        _ method: MethodDescriptor<Request, Item>, _ body: @escaping @Sendable (Request, Call, @escaping StreamSend<Item>) async throws -> Void)
}

/// A binder for a service with ACCESS_PERSONAL_READ methods: it records who read whose data.
public protocol PersonalReadBinder: MethodBinder {
    /// ACCESS_PERSONAL_READ: one read transaction; when the caller sees personal data in clear, the
    /// read of the customer named by `subject` is written to the access log before the answer goes out.
    mutating func bindPersonalRead<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, subject: any KeyPath<Request, String> & Sendable,
        _ body: @escaping @Sendable (Request, Transaction) throws -> Response)
}
