public import NIOCore
internal import NIOPosix
internal import NIOSSL
internal import NIOTLS
public import ServiceRuntime
public import WireProtocol
public import RPCTransport

/// A raw TCP peer for hostile-input tests: writes whatever bytes it is told and records what comes back.
public struct RawClient: Sendable {
    public let channel: any Channel
    public let received: Recorder<[UInt8]>

    public struct HandshakeFailed: Error {}

    /// Over TLS the bytes go inside a completed mutual-TLS session, as a misbehaving client with a
    /// valid certificate would send them.
    /// - Parameter tls: the client certificate and CA for a TLS connection; nil: plain TCP.
    /// - Parameter group: where the peer's channel runs (a test flooding the server with thousands
    ///   of peers gives them a group of their own, so as not to starve other tests' event loops).
    public static func connect(
        port: Int, tls: TLSSettings? = nil, group: (any EventLoopGroup)? = nil
    ) async throws -> RawClient {
        let received = Recorder<[UInt8]>([])
        let handshaken = Recorder(false)
        let sslContext = try tls.map { try NIOSSLContext(configuration: $0.makeClientConfiguration()) }
        let channel = try await ClientBootstrap(group: group ?? MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext { try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: nil)) }
                    try channel.pipeline.syncOperations.addHandler(Collector(received: received, handshaken: handshaken))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        // Callers stop reading or send at once; over TLS the handshake must be over by then.
        if sslContext != nil, await !eventually(seconds: 30, { handshaken.value }) {
            try? await channel.close().get()
            throw HandshakeFailed()
        }
        return RawClient(channel: channel, received: received)
    }

    public func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    public func sendFrames(_ frames: [Frame], preface: Bool = false) async throws {
        var buffer = ByteBuffer()
        if preface { FrameEncoder.writePreface(into: &buffer) }
        for frame in frames { try FrameEncoder(peerMaxFrameSize: FrameSizeLimit.hardMaxFrameSize).encode(frame, into: &buffer) }
        try await channel.writeAndFlush(buffer).get()
    }

    /// Whether the server closed the connection within `seconds`.
    public func closedByServer(within seconds: Double) async -> Bool {
        await eventually(seconds: seconds) { !channel.isActive }
    }

    /// The frames the server sent so far.
    public func frames() throws -> [Frame] {
        var decoder = FrameDecoder(expectPreface: false)
        var buffer = ByteBuffer(bytes: received.value)
        var frames: [Frame] = []
        while let frame = try decoder.decodeFrame(buffer: &buffer) { frames.append(frame) }
        return frames
    }

    public func close() async { try? await channel.close().get() }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: Recorder<[UInt8]>
        let handshaken: Recorder<Bool>
        init(received: Recorder<[UInt8]>, handshaken: Recorder<Bool>) {
            self.received = received
            self.handshaken = handshaken
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = Array(unwrapInboundIn(data).readableBytesView)
            received.update { $0.append(contentsOf: bytes) }
        }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case .handshakeCompleted = event as? TLSUserEvent { handshaken.update { $0 = true } }
            context.fireUserInboundEventTriggered(event)
        }
    }
}
