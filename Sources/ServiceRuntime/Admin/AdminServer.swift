public import Logging
internal import NIOConcurrencyHelpers
public import NIOCore
internal import NIOHTTP1
internal import NIOPosix
public import ServiceLifecycle

/// The operators' door, on its own port and loopback by default (`admin.host`, `admin.port`): plain
/// HTTP/1.1 for Prometheus and probes, never the protocol callers use.
///
/// - `GET /metrics`: the Prometheus text exposition of ``ServerMetrics``.
/// - `GET /health/live`: 200 while an event loop answers (this one does, or nothing would).
/// - `GET /health/ready`: 200 when the server listens, is not draining and its database takes the
///   write lock within a second; 503 with the reason otherwise.
///
/// Each connection serves one request and closes; at most ``maxConnections`` are open, a request
/// must arrive within ``requestTimeout``, and anything but GET of these paths is refused.
public final class AdminServer: Service, Sendable {
    public struct Checks: Sendable {
        /// The exposition text.
        public var metrics: @Sendable () async -> [UInt8]
        /// Throws, with a reason an operator can act on, when the server should get no traffic.
        public var ready: @Sendable () async throws -> Void

        public init(metrics: @escaping @Sendable () async -> [UInt8], ready: @escaping @Sendable () async throws -> Void) {
            self.metrics = metrics
            self.ready = ready
        }
    }

    public static let maxConnections = 16
    public static let requestTimeout = TimeAmount.seconds(5)

    private let host: String
    private let port: Int
    private let checks: Checks
    private let logger: Logger
    private let bound: EventLoopPromise<SocketAddress>
    private let open = NIOLockedValueBox(0)

    public init(host: String, port: Int, checks: Checks, logger: Logger) {
        self.host = host
        self.port = port
        self.checks = checks
        self.logger = logger
        bound = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: SocketAddress.self)
    }

    /// The address the admin listener is bound to, once ``run()`` has bound it.
    public func boundAddress() async throws -> SocketAddress { try await bound.futureResult.get() }

    public func run() async throws {
        let listener: any Channel
        do {
            listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture { try self.configure(channel) }
                }
                .bind(host: host, port: port)
                .get()
        } catch {
            bound.fail(error)
            throw error
        }
        bound.succeed(listener.localAddress!)
        logger.info("admin endpoint open", metadata: ["address": "\(listener.localAddress!)"])
        // The admin listener is the last to stop (it is first in the service group), so that
        // readiness reports the drain while it happens.
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await listener.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            listener.close(promise: nil)
        }
    }

    private func configure(_ channel: any Channel) throws {
        let admitted = open.withLockedValue { count -> Bool in
            guard count < Self.maxConnections else { return false }
            count += 1
            return true
        }
        guard admitted else {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [open] _ in open.withLockedValue { $0 -= 1 } }
        let timeout = channel.eventLoop.scheduleTask(in: Self.requestTimeout) { channel.close(promise: nil) }
        channel.closeFuture.whenComplete { _ in timeout.cancel() }
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
        try channel.pipeline.syncOperations.addHandler(AdminRequestHandler(checks: checks))
    }
}

/// Answers one request per connection on the event loop; the checks run as tasks.
final class AdminRequestHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let checks: AdminServer.Checks

    init(checks: AdminServer.Checks) {
        self.checks = checks
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let channel = context.channel
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard head.method == .GET || head.method == .HEAD else {
            Self.respond(channel, .methodNotAllowed, "only GET\n", headOnly: false)
            return
        }
        let headOnly = head.method == .HEAD
        let checks = self.checks
        switch path {
        case "/metrics":
            Task {
                let body = await checks.metrics()
                Self.respond(channel, .ok, body, contentType: "text/plain; version=0.0.4; charset=utf-8", headOnly: headOnly)
            }
        case "/health/live":
            Self.respond(channel, .ok, "live\n", headOnly: headOnly)
        case "/health/ready":
            Task {
                do {
                    try await checks.ready()
                    Self.respond(channel, .ok, "ready\n", headOnly: headOnly)
                } catch {
                    Self.respond(channel, .serviceUnavailable, "not ready: \(error)\n", headOnly: headOnly)
                }
            }
        default:
            Self.respond(channel, .notFound, "not found; try /metrics, /health/live, /health/ready\n", headOnly: headOnly)
        }
    }

    private static func respond(_ channel: any Channel, _ status: HTTPResponseStatus, _ text: String, headOnly: Bool) {
        respond(channel, status, Array(text.utf8), contentType: "text/plain; charset=utf-8", headOnly: headOnly)
    }

    private static func respond(_ channel: any Channel, _ status: HTTPResponseStatus, _ body: [UInt8], contentType: String, headOnly: Bool) {
        let headers: HTTPHeaders = ["content-type": contentType, "content-length": "\(body.count)", "connection": "close"]
        channel.eventLoop.execute {
            let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
            channel.write(HTTPServerResponsePart.head(head), promise: nil)
            if !headOnly { channel.write(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(bytes: body))), promise: nil) }
            channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
