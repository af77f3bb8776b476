import NIOCore
import NIOEmbedded
@testable import ServiceRuntime
import Testing

/// When the connection handlers' writes are flushed (`FlushCoalescing`), seen by a handler in front
/// of them that notes how many writes each flush carries.
@Suite("Flush coalescing")
struct FlushCoalescingTests {
    @Test("a read burst flushes after its 4th write, then at doubling intervals up to every 64, and the rest at its end")
    func longBurst() throws {
        let (channel, writer, flushes) = try Self.channel()
        writer.readBurstStarted()
        for _ in 0..<200 { writer.writeAndSchedule() }
        #expect(flushes.flushedAfter == [4, 12, 28, 60, 124, 188])
        writer.readBurstEnded(writer.context!)
        #expect(flushes.flushedAfter == [4, 12, 28, 60, 124, 188, 200])
        // The next burst starts again from the first interval.
        writer.readBurstStarted()
        for _ in 0..<5 { writer.writeAndSchedule() }
        writer.readBurstEnded(writer.context!)
        #expect(flushes.flushedAfter.suffix(2) == [204, 205])
        _ = try channel.finish()
    }

    @Test("a short burst flushes once, at its end; writes outside a burst flush once, at the end of the loop's tick")
    func shortBurstAndOutside() throws {
        let (channel, writer, flushes) = try Self.channel()
        writer.readBurstStarted()
        for _ in 0..<3 { writer.writeAndSchedule() }
        #expect(flushes.flushedAfter.isEmpty)
        writer.readBurstEnded(writer.context!)
        #expect(flushes.flushedAfter == [3])
        for _ in 0..<10 { writer.writeAndSchedule() }
        #expect(flushes.flushedAfter == [3], "outside a burst nothing flushes before the tick ends")
        channel.embeddedEventLoop.run()
        #expect(flushes.flushedAfter == [3, 13])
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

    /// A handler that writes as the connection handlers do: a write, then `scheduleFlush()`.
    final class Writer: ChannelInboundHandler, FlushCoalescing {
        typealias InboundIn = ByteBuffer
        var context: ChannelHandlerContext?
        var flushes = FlushState()

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }

        func writeAndSchedule() {
            context!.write(NIOAny(context!.channel.allocator.buffer(capacity: 0)), promise: nil)
            scheduleFlush()
        }
    }

    /// Notes, at each flush, how many writes had passed it so far.
    final class FlushRecorder: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var writes = 0
        var flushedAfter: [Int] = []

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            writes += 1
            context.write(data, promise: promise)
        }

        func flush(context: ChannelHandlerContext) {
            flushedAfter.append(writes)
            context.flush()
        }
    }
}
