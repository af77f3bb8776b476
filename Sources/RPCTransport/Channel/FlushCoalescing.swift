internal import NIOCore
internal import WireProtocol

/// Few writes and flushes per batch of frames, for the client and server connection handlers.
///
/// Frames are encoded one after another into one buffer, handed to the channel as one write when
/// it is flushed or grows past ``FlushState/outboundChunk``: a write per frame cost a buffer, a
/// trip down the pipeline and an entry in the channel's pending writes each (docs/BENCHMARKS.md,
/// "Fewer steps per frame"). Frames written while a read burst is handled go out with the flush in
/// `channelReadComplete`, and frames written outside a read (answers finishing in tasks, timers)
/// with one flush at the end of the event-loop tick. A flush is a syscall; at many calls in flight
/// this is most of the difference.
///
/// A long burst also flushes part-way, after its 4th write and then at doubling intervals (12, 28,
/// 60, then every 64): otherwise the peer waits for the whole burst's answers before it starts on
/// any, and the two sides of a busy connection take turns instead of working at once (echo at 256
/// in flight +84%, at 16 +120%; the history of docs/BENCHMARKS.md, "The read and its access row at the same time").
protocol FlushCoalescing: AnyObject, SendableMetatype {
    var context: ChannelHandlerContext? { get }
    var flushes: FlushState { get set }
}

struct FlushState {
    /// The writes of a burst after which it flushes the first time, and the most between two flushes.
    static let firstBurstFlush = 4
    static let largestBurstInterval = 64

    /// Frames encoded and not yet handed to the channel are handed over once they reach this size,
    /// so the channel's writability (which counts only what it was given) keeps track of them.
    static let outboundChunk = 64 * 1024

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

    /// Frames encoded since the last hand-over to the channel.
    private var outbound: ByteBuffer?

    /// Encodes `frame` after the frames already waiting; returns the buffer to hand to the channel
    /// when they reach ``outboundChunk``.
    ///
    /// - Throws: ``FrameEncodingError`` for a frame over the peer's limit; nothing is written then.
    /// `allocator` is asked only when a new buffer starts: reaching it through the context's channel
    /// took about 3% of an echo's CPU when asked for every frame.
    mutating func encode(
        _ frame: Frame, with encoder: FrameEncoder, allocator: @autoclosure () -> ByteBufferAllocator
    ) throws(FrameEncodingError) -> ByteBuffer? {
        if outbound == nil { outbound = allocator().buffer(capacity: max(frame.encodedSize, 4096)) }
        try encoder.encode(frame, into: &outbound!)
        guard outbound!.readableBytes >= Self.outboundChunk else { return nil }
        return takeOutbound()
    }

    /// The frames waiting to be handed to the channel, if any.
    mutating func takeOutbound() -> ByteBuffer? {
        defer { outbound = nil }
        return outbound
    }

    /// The burst's end flushed everything: the next burst starts from the first interval.
    mutating func burstEnded() {
        inReadBurst = false
        burstWrites = 0
        burstInterval = Self.firstBurstFlush
    }
}

extension FlushCoalescing {
    /// Queues `frame` for the next flush.
    func enqueue(_ frame: Frame, with encoder: FrameEncoder) throws(FrameEncodingError) {
        guard let context else { return }
        if let full = try flushes.encode(frame, with: encoder, allocator: context.channel.allocator) {
            context.write(NIOAny(full), promise: nil)
        }
    }

    /// Hands the queued frames to the channel and flushes it.
    func flushNow() {
        guard let context else { return }
        if let waiting = flushes.takeOutbound() { context.write(NIOAny(waiting), promise: nil) }
        context.flush()
    }

    /// Closes the connection once the queued frames have gone out (see
    /// ``NIOCore/ChannelHandlerContext/closeAfterFlush(grace:)``).
    func closeAfterFlush() {
        guard let context else { return }
        if let waiting = flushes.takeOutbound() { context.write(NIOAny(waiting), promise: nil) }
        context.closeAfterFlush()
    }

    /// Call from `channelRead`.
    func readBurstStarted() { flushes.inReadBurst = true }

    /// Call from `channelReadComplete`: flushes what the burst wrote.
    func readBurstEnded() {
        flushes.burstEnded()
        flushNow()
    }

    /// Call after each write: in a read burst, flushes part-way through a long one (the burst's
    /// end flushes the rest); otherwise flushes once after whatever else this event-loop tick writes.
    func scheduleFlush() {
        guard let context else { return }
        if flushes.inReadBurst {
            if flushes.burstWrite() { flushNow() }
            return
        }
        guard !flushes.flushScheduled else { return }
        flushes.flushScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = loopBound.value
            handler.flushes.flushScheduled = false
            handler.flushNow()
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
