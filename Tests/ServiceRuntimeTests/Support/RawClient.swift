import NIOCore
import NIOPosix
import WireProtocol

/// A raw TCP peer for hostile-input tests: writes whatever bytes it is told and records what comes back.
struct RawClient: Sendable {
    let channel: any Channel
    let received: Recorder<[UInt8]>

    static func connect(port: Int) async throws -> RawClient {
        let received = Recorder<[UInt8]>([])
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(received: received))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
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
        init(received: Recorder<[UInt8]>) { self.received = received }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = Array(unwrapInboundIn(data).readableBytesView)
            received.update { $0.append(contentsOf: bytes) }
        }
    }
}
