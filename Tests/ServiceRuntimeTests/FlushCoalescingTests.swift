import NIOCore
import NIOEmbedded
@testable import RPCTransport
@testable import ServiceRuntime
import Testing
import WireProtocol
internal import RPCTransport

/// When the connection handlers' frames are written and flushed (`FlushCoalescing`), seen by a
/// handler in front of them that notes how many frames each flush carries and in how many writes.
@Suite("Flush coalescing")
struct FlushCoalescingTests {
    @Test("a read burst flushes after its 4th write, then at doubling intervals up to every 64, and the rest at its end")
    func longBurst() throws {
        let (channel, writer, flushes) = try Self.channel()
        writer.readBurstStarted()
        for _ in 0..<200 { writer.writeAndSchedule() }
        #expect(flushes.flushedAfter == [4, 12, 28, 60, 124, 188])
        writer.readBurstEnded()
        #expect(flushes.flushedAfter == [4, 12, 28, 60, 124, 188, 200])
        // The next burst starts again from the first interval.
        writer.readBurstStarted()
        for _ in 0..<5 { writer.writeAndSchedule() }
        writer.readBurstEnded()
        #expect(flushes.flushedAfter.suffix(2) == [204, 205])
        _ = try channel.finish()
    }

    @Test("a short burst flushes once, at its end; writes outside a burst flush once, at the end of the loop's tick")
    func shortBurstAndOutside() throws {
        let (channel, writer, flushes) = try Self.channel()
        writer.readBurstStarted()
        for _ in 0..<3 { writer.writeAndSchedule() }
        #expect(flushes.flushedAfter.isEmpty)
        writer.readBurstEnded()
        #expect(flushes.flushedAfter == [3])
        for _ in 0..<10 { writer.writeAndSchedule() }
        #expect(flushes.flushedAfter == [3], "outside a burst nothing flushes before the tick ends")
        channel.embeddedEventLoop.run()
        #expect(flushes.flushedAfter == [3, 13])
        _ = try channel.finish()
    }

    @Test("the frames between two flushes reach the channel as one write, in order, and as the same bytes")
    func framesShareOneWrite() throws {
        let (channel, writer, flushes) = try Self.channel()
        writer.readBurstStarted()
        for _ in 0..<3 { writer.writeAndSchedule() }
        #expect(flushes.writes.isEmpty, "nothing is handed to the channel before the flush")
        writer.readBurstEnded()
        #expect(flushes.writes == [3 * Writer.frameSize])
        var written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        var decoder = FrameDecoder(expectPreface: false)
        for expected in 1...3 {
            let frame = try #require(try decoder.decodeFrame(buffer: &written))
            #expect(frame == .ping(UInt64(expected)))
        }
        #expect(written.readableBytes == 0)
        _ = try channel.finish()
    }

    @Test("frames past 64 KiB are handed to the channel before the flush, so that its writability counts them")
    func largeBatchHandedOver() throws {
        let (channel, writer, flushes) = try Self.channel()
        let perChunk = (FlushState.outboundChunk + Writer.frameSize - 1) / Writer.frameSize
        for _ in 0..<perChunk { try writer.enqueue(.ping(1), with: FrameEncoder()) }
        #expect(flushes.writes == [perChunk * Writer.frameSize])
        #expect(flushes.flushedAfter.isEmpty)
        writer.flushNow()
        #expect(flushes.flushedAfter == [perChunk], "nothing else was waiting: the flush adds no write")
        _ = try channel.finish()
    }

    @Test("a frame over the peer's limit is refused and leaves the frames before it intact")
    func oversizeFrameWritesNothing() throws {
        let (channel, writer, flushes) = try Self.channel()
        try writer.enqueue(.ping(1), with: FrameEncoder())
        let large = Frame.request(
            streamID: 1, method: MethodID(service: 1, method: 1), payload: ByteBuffer(repeating: 0, count: FrameSizeLimit.minMaxFrameSize))
        #expect(throws: FrameEncodingError.self) { try writer.enqueue(large, with: FrameEncoder()) }
        writer.flushNow()
        #expect(flushes.writes == [Writer.frameSize])
        _ = try channel.finish()
    }

    static func channel() throws -> (EmbeddedChannel, Writer, FlushRecorder) {
        let channel = EmbeddedChannel()
        let recorder = FlushRecorder()
        let writer = Writer()
        try channel.pipeline.syncOperations.addHandler(recorder)
        try channel.pipeline.syncOperations.addHandler(writer)
        return (channel, writer, recorder)
    }

    /// A handler that writes as the connection handlers do: a frame, then `scheduleFlush()`. Its
    /// frames are PINGs numbered from 1, all of one size.
    final class Writer: ChannelInboundHandler, FlushCoalescing {
        typealias InboundIn = ByteBuffer
        static let frameSize = Frame.ping(1).encodedSize
        var context: ChannelHandlerContext?
        var flushes = FlushState()
        var sent: UInt64 = 0

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }

        func writeAndSchedule() {
            sent += 1
            try! enqueue(.ping(sent), with: FrameEncoder())
            scheduleFlush()
        }
    }

    /// Notes the size of each write and, at each flush, how many frames had passed it so far.
    final class FlushRecorder: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var writes: [Int] = []
        var flushedAfter: [Int] = []

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            writes.append(unwrapOutboundIn(data).readableBytes)
            context.write(data, promise: promise)
        }

        func flush(context: ChannelHandlerContext) {
            flushedAfter.append(writes.reduce(0, +) / Writer.frameSize)
            context.flush()
        }
    }
}
