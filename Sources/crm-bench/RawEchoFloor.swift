internal import NIOCore
internal import NIOPosix

/// The machine's floor for this traffic: a length-prefixed echo written directly on NIO, with no
/// framing library, no protocol header and no hop into Swift concurrency. Whatever our runtime
/// does beyond this is its cost.
enum RawEchoFloor {
    /// Starts the raw echo server on a free loopback port.
    static func startServer(group: any EventLoopGroup) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(EchoServerHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    /// Echoes whole length-prefixed messages back; flushes once per read burst.
    final class EchoServerHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private var pending: ByteBuffer?

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            if pending == nil { pending = incoming } else { pending!.writeBuffer(&incoming) }
            while let length = pending!.getInteger(at: pending!.readerIndex, as: UInt32.self),
                pending!.readableBytes >= 4 + Int(length)
            {
                let message = pending!.readSlice(length: 4 + Int(length))!
                context.write(wrapOutboundOut(message), promise: nil)
            }
            if pending!.readableBytes == 0 { pending = nil }
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            context.flush()
        }
    }

    /// A client keeping `inFlight` messages outstanding on one connection, recording each round
    /// trip, for `seconds`. Runs entirely on the event loop.
    final class EchoClientHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let message: ByteBuffer
        private let inFlight: Int
        private let until: NIODeadline
        private var sentAt: [NIODeadline] = []  // FIFO: answers come back in order
        private var head = 0
        private var pending: ByteBuffer?
        private let done: EventLoopPromise<LatencyRecorder>
        private var recorder = LatencyRecorder()

        init(payloadSize: Int, inFlight: Int, seconds: Double, done: EventLoopPromise<LatencyRecorder>) {
            var message = ByteBuffer()
            message.writeInteger(UInt32(payloadSize))
            message.writeRepeatingByte(0x61, count: payloadSize)
            self.message = message
            self.inFlight = inFlight
            self.until = .now() + .nanoseconds(Int64(seconds * 1e9))
            self.done = done
        }

        func channelActive(context: ChannelHandlerContext) {
            for _ in 0..<inFlight { send(context) }
            context.flush()
        }

        private func send(_ context: ChannelHandlerContext) {
            sentAt.append(.now())
            context.write(wrapOutboundOut(message), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            if pending == nil { pending = incoming } else { pending!.writeBuffer(&incoming) }
            let now = NIODeadline.now()
            while let length = pending!.getInteger(at: pending!.readerIndex, as: UInt32.self),
                pending!.readableBytes >= 4 + Int(length)
            {
                pending!.moveReaderIndex(forwardBy: 4 + Int(length))
                recorder.record(now - sentAt[head])
                head += 1
                if now < until { send(context) }
            }
            if head > 4096 {
                sentAt.removeFirst(head)
                head = 0
            }
            if pending!.readableBytes == 0 { pending = nil }
            if head == sentAt.count {
                done.succeed(recorder)
                context.close(promise: nil)
            }
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            context.flush()
        }
    }

    static func run(port: Int, payloadSize: Int, inFlight: Int, seconds: Double, group: any EventLoopGroup) async throws -> LatencyRecorder {
        let eventLoop = group.next()
        let done = eventLoop.makePromise(of: LatencyRecorder.self)
        let started = NIODeadline.now()
        _ = try await ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        EchoClientHandler(payloadSize: payloadSize, inFlight: inFlight, seconds: seconds, done: done))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        var recorder = try await done.futureResult.get()
        recorder.elapsed = NIODeadline.now() - started
        return recorder
    }
}
