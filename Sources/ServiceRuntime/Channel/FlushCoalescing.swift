internal import NIOCore

/// One flush per batch of writes, for the client and server connection handlers: writes made while
/// a read burst is handled go out with the flush in `channelReadComplete`, and writes made outside
/// a read (answers finishing in tasks, timers) with one flush at the end of the event-loop tick.
/// A flush is a syscall; at many calls in flight this is most of the difference.
protocol FlushCoalescing: AnyObject {
    var context: ChannelHandlerContext? { get }
    var flushes: FlushState { get set }
}

struct FlushState {
    var inReadBurst = false
    var flushScheduled = false
}

extension FlushCoalescing {
    /// Call from `channelRead`.
    func readBurstStarted() { flushes.inReadBurst = true }

    /// Call from `channelReadComplete`: flushes what the burst wrote.
    func readBurstEnded(_ context: ChannelHandlerContext) {
        flushes.inReadBurst = false
        context.flush()
    }

    /// Flushes once after whatever else this event-loop tick writes; inside a read burst the burst's
    /// own flush covers it.
    func scheduleFlush() {
        guard !flushes.inReadBurst, !flushes.flushScheduled, let context else { return }
        flushes.flushScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = loopBound.value
            handler.flushes.flushScheduled = false
            handler.context?.flush()
        }
    }
}

extension ChannelHandlerContext {
    /// Closes the channel once everything written so far has gone out (a GOAWAY or an ERROR must
    /// reach the peer before the close), or after `grace` if it cannot go out: a peer that stopped
    /// reading, or a TLS handshake that never finished (TLS holds writes until it does).
    func closeAfterFlush(grace: TimeAmount = .seconds(1)) {
        let channel = self.channel
        let fallback = channel.eventLoop.scheduleTask(in: grace) { channel.close(promise: nil) }
        writeAndFlush(NIOAny(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            fallback.cancel()
            channel.close(promise: nil)
        }
    }
}
