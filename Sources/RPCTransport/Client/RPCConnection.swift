internal import NIOConcurrencyHelpers
public import NIOCore
public import NIOPosix
internal import NIOSSL
internal import SwiftProtobuf
public import WireProtocol

/// One client connection: many concurrent calls multiplexed over one TCP (or TLS) stream, answered
/// out of order. ``RPCClient`` adds reconnection on top.
public final class RPCConnection: Sendable {
    public let channel: any Channel
    public let parameters: NegotiatedParameters
    private let handler: NIOLoopBound<RPCClientConnectionHandler>
    private let usable: NIOLockedValueBox<Bool>

    public struct Options: Sendable {
        /// Nil connects without TLS (loopback and tests only).
        public var tls: TLSSettings?
        /// The name the server's certificate must carry; defaults to the host connected to.
        public var serverHostname: String?
        public var hello: Hello
        /// Send a PING this often; the connection fails if the PONG has not come by the next one.
        public var keepaliveInterval: TimeAmount?
        public var connectTimeout: TimeAmount

        public init(
            tls: TLSSettings? = nil, serverHostname: String? = nil, hello: Hello = Hello(),
            keepaliveInterval: TimeAmount? = .seconds(30), connectTimeout: TimeAmount = .seconds(5)
        ) {
            self.tls = tls
            self.serverHostname = serverHostname
            self.hello = hello
            self.keepaliveInterval = keepaliveInterval
            self.connectTimeout = connectTimeout
        }
    }

    private init(
        channel: any Channel, parameters: NegotiatedParameters, handler: NIOLoopBound<RPCClientConnectionHandler>,
        usable: NIOLockedValueBox<Bool>
    ) {
        self.channel = channel
        self.parameters = parameters
        self.handler = handler
        self.usable = usable
    }

    /// Connects, completes the handshake, and returns the open connection.
    public static func connect(
        host: String, port: Int, options: Options = Options(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> RPCConnection {
        let sslContext = try options.tls.map { try NIOSSLContext(configuration: $0.makeClientConfiguration()) }
        let serverHostname = options.serverHostname ?? host
        let eventLoop = group.next()
        let handshake = eventLoop.makePromise(of: NegotiatedParameters.self)
        let usable = NIOLockedValueBox(false)
        // Kept from the initializer: looked up after the handshake, it is gone if the peer has
        // closed in between, and the caller would get a pipeline error instead of a closed connection.
        let installed = NIOLockedValueBox<NIOLoopBound<RPCClientConnectionHandler>?>(nil)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(options.connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        if let sslContext {
                            let name = serverHostname.first?.isNumber == true ? nil : serverHostname
                            try sync.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: name))
                        }
                        let handler = RPCClientConnectionHandler(
                            hello: options.hello, frameLimit: try FrameSizeLimit(Int(options.hello.maxFrameSize)), handshake: handshake,
                            keepaliveInterval: options.keepaliveInterval, usable: usable)
                        try sync.addHandler(handler)
                        installed.withLockedValue { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                    }
                }
                .connect(host: host, port: port)
                .get()
        } catch {
            handshake.fail(error)
            throw RPCError(code: .unavailable, message: "cannot connect to \(host):\(port): \(error)", reason: .connectFailed,
                           processing: .notProcessed, cause: error)
        }
        let timeout = eventLoop.scheduleTask(in: options.connectTimeout) {
            handshake.fail(RPCError(code: .unavailable, message: "no HELLO_ACK within \(options.connectTimeout)",
                                    reason: .handshakeTimeout, processing: .notProcessed))
            channel.close(promise: nil)
        }
        // Cancelled on the loop the moment the handshake ends, not when the awaiting task next runs:
        // on a busy machine that task can wake after the timeout, which would close a connection
        // whose handshake had succeeded (seen in full test runs as closed connections at random).
        handshake.futureResult.whenComplete { _ in timeout.cancel() }
        let parameters = try await handshake.futureResult.get()
        guard let handler = installed.withLockedValue({ $0 }) else {
            throw RPCError(code: .unavailable, message: "connection to \(host):\(port) closed during setup", reason: .closed,
                           processing: .notProcessed)
        }
        return RPCConnection(channel: channel, parameters: parameters, handler: handler, usable: usable)
    }

    /// Whether new calls can start here (false after GOAWAY, an error, or close).
    public var isUsable: Bool { usable.withLockedValue { $0 } && channel.isActive }

    /// Calls a unary method.
    ///
    /// - Throws: ``RPCError``: the server's error, DEADLINE_EXCEEDED when `timeout` passes first,
    ///   CANCELLED when the calling task is cancelled, UNAVAILABLE when the connection fails.
    public func unary<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ request: Request,
        metadata: Metadata = Metadata(), timeout: TimeAmount? = nil
    ) async throws -> Response {
        let payload = try await call(method: method.id, payload: try request.encodedPayload(), metadata: metadata, timeout: timeout)
        do {
            return try Response(payload: payload)
        } catch {
            throw RPCError(code: .internal, message: "the server's answer is not a \(Response.protoMessageName)", reason: .malformedPayload, cause: error)
        }
    }

    /// Calls a unary method with an already encoded request; returns the encoded response.
    public func call(method: MethodID, payload: ByteBuffer, metadata: Metadata = Metadata(), timeout: TimeAmount? = nil) async throws -> ByteBuffer {
        let waiter = UnaryWaiter()
        let (handler, eventLoop) = (self.handler, channel.eventLoop)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiter.answer { continuation.resume(with: $0) }
                start(method: method, payload: payload, metadata: metadata, timeout: timeout, waiter)
            }
        } onCancel: {
            eventLoop.execute { handler.value.cancelUnary(waiter) }
        }
    }

    /// Calls a unary method with an already encoded request, for code that runs on event loops (a
    /// proxy, a load generator): `completion` gets the encoded response, or the ``RPCError``, on
    /// the connection's event loop. Called on that loop, the call starts at once: no task, no hop
    /// between threads and no future, which on short calls cost more than the call
    /// (docs/BENCHMARKS.md).
    public func callOnEventLoop(
        method: MethodID, payload: ByteBuffer, metadata: Metadata = Metadata(), timeout: TimeAmount? = nil,
        completion: @escaping @Sendable (Result<ByteBuffer, any Error>) -> Void
    ) {
        start(method: method, payload: payload, metadata: metadata, timeout: timeout, UnaryWaiter(completion))
    }

    /// ``callOnEventLoop(method:payload:metadata:timeout:completion:)`` answering through a future
    /// completed on the connection's event loop.
    public func callOnEventLoop(method: MethodID, payload: ByteBuffer, metadata: Metadata = Metadata(), timeout: TimeAmount? = nil) -> EventLoopFuture<ByteBuffer> {
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        callOnEventLoop(method: method, payload: payload, metadata: metadata, timeout: timeout) { promise.completeWith($0) }
        return promise.futureResult
    }

    /// The connection's event loop: where ``callOnEventLoop(method:payload:metadata:timeout:)`` answers.
    public var eventLoop: any EventLoop { channel.eventLoop }

    private func start(method: MethodID, payload: ByteBuffer, metadata: Metadata, timeout: TimeAmount?, _ waiter: UnaryWaiter) {
        let handler = self.handler
        if channel.eventLoop.inEventLoop {
            handler.value.startCall(method: method, payload: payload, metadata: metadata, timeout: timeout, pending: .unary(waiter))
        } else {
            channel.eventLoop.execute {
                handler.value.startCall(method: method, payload: payload, metadata: metadata, timeout: timeout, pending: .unary(waiter))
            }
        }
    }

    /// Calls a server-stream method. At most `window` items are in flight or buffered at a time.
    public func serverStream<Request, Item>(
        _ method: MethodDescriptor<Request, Item>, _ request: Request,
        metadata: Metadata = Metadata(), timeout: TimeAmount? = nil, window: UInt32 = 64
    ) throws -> ClientStream<Item> {
        ClientStream(raw: serverStream(method: method.id, payload: try request.encodedPayload(), metadata: metadata, timeout: timeout, window: window))
    }

    /// Calls a server-stream method with an already encoded request; the items stay encoded.
    public func serverStream(
        method: MethodID, payload: ByteBuffer, metadata: Metadata = Metadata(), timeout: TimeAmount? = nil, window: UInt32 = 64
    ) -> RawClientStream {
        let eventLoop = channel.eventLoop
        let handler = self.handler
        let (source, producer) = ClientStreamSource.make(window: max(window, 1), eventLoop: eventLoop, handler: handler)
        eventLoop.execute {
            handler.value.startCall(method: method, payload: payload, metadata: metadata, timeout: timeout, pending: .stream(source))
        }
        return RawClientStream(source: source, producer: producer)
    }

    /// Closes gracefully: no new calls, running calls finish, then the connection closes.
    public func close() async {
        let handler = self.handler
        channel.eventLoop.execute { handler.value.close(graceful: true) }
        try? await channel.closeFuture.get()
    }

    /// Closes at once; running calls fail with UNAVAILABLE.
    public func closeNow() async {
        try? await channel.close().get()
    }
}
