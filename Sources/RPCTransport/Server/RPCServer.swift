public import Logging
public import NIOCore
internal import NIOConcurrencyHelpers
public import NIOPosix
public import NIOSSL
public import ServiceLifecycle
public import WireProtocol

/// A protocol server: a TCP listener (optionally TLS) whose connections speak the CRM wire protocol
/// and call the handlers of an ``RPCRouter``.
///
/// Run it in a `ServiceGroup`. On graceful shutdown it stops accepting, sends GOAWAY on every
/// connection, lets running calls finish for up to ``Configuration/drainTimeout``, then closes what
/// is left.
public final class RPCServer: Service, Sendable {
    public struct Configuration: Sendable {
        public var host: String
        /// 0 picks a free port; read it from ``RPCServer/boundAddress()``.
        public var port: Int
        /// Nil serves plain TCP (loopback and tests only).
        public var tls: TLSSettings?
        /// Versions and limits announced in HELLO_ACK: max frame size, max concurrent calls per
        /// connection, min ping interval.
        public var hello: Hello
        public var maxConnections: Int
        public var handshakeTimeout: TimeAmount
        public var idleTimeout: TimeAmount
        public var drainTimeout: TimeAmount
        /// The longest a unary call may run, whatever deadline the caller sent.
        public var maxCallDuration: TimeAmount
        /// Whether callers may set the caller identity metadata (true only behind the gateway).
        public var trustsCallerIdentity: Bool
        /// Who may connect, beyond what TLS checks (the gateway's caller policies); nil lets in
        /// every peer the TLS configuration accepts.
        public var admission: (any ConnectionAdmission)?
        /// Whether unary handlers run on their connection's event loop rather than the task pool:
        /// two thread wake-ups fewer per call (docs/BENCHMARKS.md), but a handler that computes
        /// for long holds up the loop's other connections meanwhile. For servers whose handlers
        /// only await: the gateway's forwarding (always on) and crm-customer's handlers, whose
        /// work is in the store's threads (on by default there); `handlers.on_event_loop` sets it.
        public var unaryHandlersOnEventLoop: Bool

        public init(
            host: String = "127.0.0.1",
            port: Int,
            tls: TLSSettings? = nil,
            hello: Hello = Hello(),
            maxConnections: Int = 10_000,
            handshakeTimeout: TimeAmount = .seconds(10),
            idleTimeout: TimeAmount = .minutes(5),
            drainTimeout: TimeAmount = .seconds(30),
            maxCallDuration: TimeAmount = .seconds(60),
            trustsCallerIdentity: Bool = false,
            admission: (any ConnectionAdmission)? = nil,
            unaryHandlersOnEventLoop: Bool = false
        ) {
            self.host = host
            self.port = port
            self.tls = tls
            self.hello = hello
            self.maxConnections = maxConnections
            self.handshakeTimeout = handshakeTimeout
            self.idleTimeout = idleTimeout
            self.drainTimeout = drainTimeout
            self.maxCallDuration = maxCallDuration
            self.trustsCallerIdentity = trustsCallerIdentity
            self.admission = admission
            self.unaryHandlersOnEventLoop = unaryHandlersOnEventLoop
        }
    }

    private let configuration: Configuration
    private let router: RPCRouter
    private let logger: Logger
    private let metrics: (any RPCServerObserver)?
    private let group: any EventLoopGroup
    private let draining = NIOLockedValueBox(false)
    private let bound: EventLoopPromise<SocketAddress>
    private let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
    /// The TLS context new connections use; ``reloadTLS(_:)`` replaces it while open connections
    /// keep the one they started with.
    private let sslContext = NIOLockedValueBox<NIOSSLContext?>(nil)

    /// - Parameter metrics: where calls, connections and failed handshakes are counted.
    public init(
        configuration: Configuration, router: RPCRouter, logger: Logger, metrics: (any RPCServerObserver)? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        self.metrics = metrics
        self.group = group
        self.bound = group.next().makePromise(of: SocketAddress.self)
    }

    /// A server that never bound its listener (a start error before it, or ``run()`` never called
    /// because another service failed first) still completes its promise: NIO traps on one left
    /// unfulfilled, which turned a one-line start error into a crash. After a bind this does nothing.
    deinit {
        bound.fail(NeverBound())
    }

    private struct NeverBound: Error, CustomStringConvertible {
        var description: String { "the server stopped before its listener was bound" }
    }

    /// The address the listener is bound to, once ``run()`` has bound it.
    public func boundAddress() async throws -> SocketAddress {
        try await bound.futureResult.get()
    }

    /// Whether the graceful drain has begun (readiness turns false at once).
    public var isDraining: Bool { draining.withLockedValue { $0 } }

    /// How many connections are open now.
    public var connectionCount: Int { connections.withLockedValue { $0.count } }

    /// Loads new certificate, key and CA files for the connections that open from now on. Throws,
    /// keeping the current ones, if the files do not make a valid TLS configuration.
    public func reloadTLS(_ settings: TLSSettings) throws {
        let context = try NIOSSLContext(configuration: settings.makeServerConfiguration())
        try configuration.admission?.prepare(context)
        sslContext.withLockedValue { $0 = context }
    }

    /// Ends every open connection whose peer certificate `refused` picks, with `error` as the
    /// connection's ERROR on stream 0 (calls in flight end with it); returns how many it ended.
    /// For a certificate that a reloaded CRL revoked while its connection was open.
    public func closeConnections(
        error: RPCError, where refused: @escaping @Sendable (NIOSSLCertificate) -> Bool
    ) async -> Int {
        let open = connections.withLockedValue { Array($0.values) }
        var closed = 0
        for channel in open {
            let ended = try? await channel.eventLoop.submit { () -> Bool in
                guard let certificate = try? channel.pipeline.syncOperations.nioSSL_peerCertificate(), refused(certificate) else {
                    return false
                }
                channel.pipeline.fireUserInboundEventTriggered(PeerRefusedEvent(error: error))
                return true
            }.get()
            if ended == true { closed += 1 }
        }
        return closed
    }

    public func run() async throws {
        let listener: any Channel
        do {
            if let tls = configuration.tls, sslContext.withLockedValue({ $0 }) == nil { try reloadTLS(tls) }
            let frameLimit = try FrameSizeLimit(Int(configuration.hello.maxFrameSize))
            listener = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.writeBufferWaterMark, value: .init(low: 256 * 1024, high: 1024 * 1024))
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture { try self.configure(channel, frameLimit: frameLimit) }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
        } catch let error as IOError {
            // The listen address named, not only the errno (another process took the port).
            let failure = StartChecks.Failure(
                "listen.port: cannot listen on \(configuration.host):\(configuration.port): \(StartChecks.describe(error))")
            bound.fail(failure)
            throw failure
        } catch {
            bound.fail(error)
            throw error
        }
        bound.succeed(listener.localAddress!)
        logger.info("listening", metadata: ["address": "\(listener.localAddress!)", "tls": "\(configuration.tls != nil)"])

        try await withTaskCancellationOrGracefulShutdownHandler {
            try await listener.closeFuture.get()
        } onCancelOrGracefulShutdown: { [draining] in
            draining.withLockedValue { $0 = true }
            listener.close(promise: nil)
        }
        await drainConnections()
    }

    private func configure(_ channel: any Channel, frameLimit: FrameSizeLimit) throws {
        let id = ObjectIdentifier(channel)
        let accepted = connections.withLockedValue { open -> Bool in
            guard open.count < configuration.maxConnections else { return false }
            open[id] = channel
            return true
        }
        guard accepted else {
            metrics?.connectionRefused()
            logger.warning("refusing connection: limit reached", metadata: ["max_connections": "\(configuration.maxConnections)"])
            channel.close(promise: nil)
            return
        }
        metrics?.connectionOpened()
        channel.closeFuture.whenComplete { [connections, metrics] _ in
            _ = connections.withLockedValue { $0.removeValue(forKey: id) }
            metrics?.connectionClosed()
        }
        let sync = channel.pipeline.syncOperations
        if let context = sslContext.withLockedValue({ $0 }) {
            try sync.addHandler(NIOSSLServerHandler(context: context))
        }
        try sync.addHandler(
            RPCServerConnectionHandler(router: router, configuration: configuration, frameLimit: frameLimit, logger: logger, metrics: metrics))
    }

    /// GOAWAY to every connection; wait for them to close, at most the drain timeout; then close.
    private func drainConnections() async {
        let open = connections.withLockedValue { Array($0.values) }
        guard !open.isEmpty else { return }
        logger.info("draining", metadata: ["connections": "\(open.count)"])
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(RPCServerConnectionHandler.DrainEvent())
        }
        let deadline = NIODeadline.now() + configuration.drainTimeout
        while connectionCount > 0, NIODeadline.now() < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let left = connections.withLockedValue { Array($0.values) }
        if !left.isEmpty {
            logger.warning("drain timeout: closing connections with calls still running", metadata: ["connections": "\(left.count)"])
        }
        for channel in left { try? await channel.close().get() }
    }
}
