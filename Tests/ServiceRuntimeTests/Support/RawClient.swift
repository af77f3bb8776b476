import TestSupport
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import ServiceRuntime
import WireProtocol

/// A raw TCP peer for hostile-input tests: writes whatever bytes it is told and records what comes back.
struct RawClient: Sendable {
    let channel: any Channel
    let received: Recorder<[UInt8]>

    struct HandshakeFailed: Error {}

    /// Over TLS the bytes go inside a completed mutual-TLS session, as a misbehaving client with a
    /// valid certificate would send them.
    static func connect(port: Int, transport: Transport = .plain) async throws -> RawClient {
        let received = Recorder<[UInt8]>([])
        let handshaken = Recorder(false)
        let sslContext = try transport == .tls ? NIOSSLContext(configuration: Transport.pki.client.makeClientConfiguration()) : nil
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext { try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: nil)) }
                    try channel.pipeline.syncOperations.addHandler(Collector(received: received, handshaken: handshaken))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        // Callers stop reading or send at once; over TLS the handshake must be over by then.
        if sslContext != nil, await !eventually(seconds: 10, { handshaken.value }) {
            try? await channel.close().get()
            throw HandshakeFailed()
        }
        return RawClient(channel: channel, received: received)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    func sendFrames(_ frames: [Frame], preface: Bool = false) async throws {
        var buffer = ByteBuffer()
        if preface { FrameEncoder.writePreface(into: &buffer) }
        for frame in frames { try FrameEncoder(peerMaxFrameSize: FrameSizeLimit.hardMaxFrameSize).encode(frame, into: &buffer) }
        try await channel.writeAndFlush(buffer).get()
    }

    /// Whether the server closed the connection within `seconds`.
    func closedByServer(within seconds: Double) async -> Bool {
        await eventually(seconds: seconds) { !channel.isActive }
    }

    /// The frames the server sent so far.
    func frames() throws -> [Frame] {
        var decoder = FrameDecoder(expectPreface: false)
        var buffer = ByteBuffer(bytes: received.value)
        var frames: [Frame] = []
        while let frame = try decoder.decodeFrame(buffer: &buffer) { frames.append(frame) }
        return frames
    }

    func close() async { try? await channel.close().get() }

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
