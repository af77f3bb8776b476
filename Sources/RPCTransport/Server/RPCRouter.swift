public import NIOCore
public import SwiftProtobuf
public import WireProtocol

/// The handlers a server answers, by method id. Built before the server starts; immutable after.
///
/// Handlers are plain async functions over the generated message types. A handler reports a
/// failure by throwing an ``RPCError``; any other error becomes INTERNAL (logged, never sent).
public struct RPCRouter: Sendable {
    @usableFromInline typealias UnaryBody = @Sendable (ByteBuffer, ServerCallContext) async throws -> ByteBuffer
    @usableFromInline typealias ImmediateBody = @Sendable (ByteBuffer, ServerCallContext) throws -> ByteBuffer
    @usableFromInline typealias StreamBody = @Sendable (ByteBuffer, ServerCallContext, any ServerStreamSink) async throws -> Void

    @usableFromInline enum Route: Sendable {
        case unary(UnaryBody)
        /// Answered on the event loop inside the read that delivered the request.
        case immediate(ImmediateBody)
        case serverStream(StreamBody)
    }

    @usableFromInline struct Entry: Sendable {
        @usableFromInline var info: MethodInfo
        @usableFromInline var route: Route
        /// A stream that never ends on its own (a change feed subscription): a graceful drain
        /// cancels it at once instead of waiting out the drain timeout for it.
        @usableFromInline var endsAtDrain = false

        @usableFromInline init(info: MethodInfo, route: Route, endsAtDrain: Bool = false) {
            (self.info, self.route, self.endsAtDrain) = (info, route, endsAtDrain)
        }
    }

    @usableFromInline internal(set) var entries: [MethodID: Entry] = [:]
    /// Methods whose answered calls log at debug rather than info (a health probe, every second
    /// per backend, would be most of a quiet server's log). A list: it holds one or two ids.
    @usableFromInline internal(set) var quietMethods: [MethodID] = []

    public init() {}

    public var methods: [MethodInfo] { entries.values.map(\.info).sorted { $0.id < $1.id } }

    func entry(for id: MethodID) -> Entry? { entries[id] }

    /// Registers the handler of a unary method. Registering a method twice replaces the first.
    /// Inlinable, like the other typed registrations: the body it wraps then decodes and encodes
    /// the caller's concrete types, not generic ones (the router is in another module than its callers).
    @inlinable
    public mutating func register<Request, Response>(
        _ method: MethodDescriptor<Request, Response>,
        handler: @escaping @Sendable (Request, ServerCallContext) async throws -> Response
    ) {
        precondition(method.kind == .unary, "\(method.name) is a server stream")
        entries[method.id] = Entry(
            info: method.info,
            route: .unary { payload, context in
                let request = try Self.decode(Request.self, payload, method: method.name)
                let response = try await handler(request, context)
                return try response.encodedPayload()
            })
    }

    /// Registers the handler of a unary method that answers at once from what it already has
    /// (System.Echo, System.Health): it runs on the connection's event loop inside the read that
    /// delivered the request, with no task and no hop between threads, which on short calls cost
    /// more than the call itself (docs/BENCHMARKS.md). It must not block, wait or compute for long:
    /// the event loop's other connections wait while it runs. It has no deadline to miss and cannot
    /// be cancelled.
    ///
    /// - Parameter logsQuietly: an answered call logs at debug, not info (a health probe).
    @inlinable
    public mutating func registerImmediate<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, logsQuietly: Bool = false,
        handler: @escaping @Sendable (Request, ServerCallContext) throws -> Response
    ) {
        precondition(method.kind == .unary, "\(method.name) is a server stream")
        if logsQuietly { quietMethods.append(method.id) }
        entries[method.id] = Entry(
            info: method.info,
            route: .immediate { payload, context in
                let request = try Self.decode(Request.self, payload, method: method.name)
                return try handler(request, context).encodedPayload()
            })
    }

    /// Registers the handler of a server-stream method. The handler writes items to the writer
    /// (each write waits for the caller's credit) and returns to end the stream.
    ///
    /// - Parameter endsAtDrain: the stream runs until the caller leaves (a subscription); a graceful
    ///   drain cancels it (the caller gets CANCELLED and reconnects elsewhere) rather than waiting.
    @inlinable
    public mutating func register<Request, Item>(
        _ method: MethodDescriptor<Request, Item>, endsAtDrain: Bool = false,
        streamHandler: @escaping @Sendable (Request, ServerStreamWriter<Item>, ServerCallContext) async throws -> Void
    ) {
        precondition(method.kind == .serverStream, "\(method.name) is unary")
        entries[method.id] = Entry(
            info: method.info,
            route: .serverStream { payload, context, sink in
                let request = try Self.decode(Request.self, payload, method: method.name)
                try await streamHandler(request, ServerStreamWriter(sink: sink), context)
            },
            endsAtDrain: endsAtDrain)
    }

    /// Registers a handler that takes and returns encoded bodies, for a method this server passes
    /// on without decoding (the gateway). `method` says whether it is unary or a server stream;
    /// `endsAtDrain` is as in ``register(_:endsAtDrain:streamHandler:)``.
    public mutating func registerForwarding(
        _ method: MethodInfo, endsAtDrain: Bool = false,
        unary: @escaping @Sendable (ByteBuffer, ServerCallContext) async throws -> ByteBuffer,
        stream: @escaping @Sendable (ByteBuffer, ServerCallContext, RawStreamWriter) async throws -> Void
    ) {
        switch method.kind {
        case .unary:
            entries[method.id] = Entry(info: method, route: .unary(unary))
        case .serverStream:
            entries[method.id] = Entry(info: method, route: .serverStream { payload, context, sink in
                try await stream(payload, context, RawStreamWriter(sink: sink))
            }, endsAtDrain: endsAtDrain)
        }
    }

    @usableFromInline
    static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, _ payload: ByteBuffer, method: String) throws -> M {
        do {
            return try M(payload: payload)
        } catch {
            throw RPCError(
                code: .invalidArgument, message: "the request body is not a valid \(M.protoMessageName)",
                reason: .malformedRequest, processing: .notProcessed, cause: error)
        }
    }
}
