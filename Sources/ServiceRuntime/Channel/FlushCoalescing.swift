internal import NIOCore

/// Few flushes per batch of writes, for the client and server connection handlers: writes made
/// while a read burst is handled go out with the flush in `channelReadComplete`, and writes made
/// outside a read (answers finishing in tasks, timers) with one flush at the end of the event-loop
/// tick. A flush is a syscall; at many calls in flight this is most of the difference.
///
/// A long burst also flushes part-way, after its 4th write and then at doubling intervals (12, 28,
/// 60, then every 64): otherwise the peer waits for the whole burst's answers before it starts on
/// any, and the two sides of a busy connection take turns instead of working at once (echo at 256
/// in flight +84%, at 16 +120%; docs/BENCHMARKS.md, "Session 14").
protocol FlushCoalescing: AnyObject {
    var context: ChannelHandlerContext? { get }
    var flushes: FlushState { get set }
}

struct FlushState {
    /// The writes of a burst after which it flushes the first time, and the most between two flushes.
    static let firstBurstFlush = 4
    static let largestBurstInterval = 64

    var inReadBurst = false
    var flushScheduled = false
    /// Writes in the current read burst since its last flush, and how many make the next one.
    var burstWrites = 0
    var burstInterval = FlushState.firstBurstFlush

    /// Counts a write made in a read burst; true when it should flush now.
    mutating func burstWrite() -> Bool {
        burstWrites += 1
        guard burstWrites >= burstInterval else { return false }
        burstWrites = 0
        burstInterval = min(burstInterval * 2, Self.largestBurstInterval)
        return true
    }

    /// The burst's end flushed everything: the next burst starts from the first interval.
    mutating func burstEnded() {
        inReadBurst = false
        burstWrites = 0
        burstInterval = Self.firstBurstFlush
    }
}

extension FlushCoalescing {
    /// Call from `channelRead`.
    func readBurstStarted() { flushes.inReadBurst = true }

    /// Call from `channelReadComplete`: flushes what the burst wrote.
    func readBurstEnded(_ context: ChannelHandlerContext) {
        flushes.burstEnded()
        context.flush()
    }

    /// Call after each write: in a read burst, flushes part-way through a long one (the burst's
    /// end flushes the rest); otherwise flushes once after whatever else this event-loop tick writes.
    func scheduleFlush() {
        guard let context else { return }
        if flushes.inReadBurst {
            if flushes.burstWrite() { context.flush() }
            return
        }
        guard !flushes.flushScheduled else { return }
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
