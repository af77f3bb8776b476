internal import NIOCore
internal import WireProtocol

/// Cuts the connection's bytes into ``Frame``s with ``FrameDecoder`` and passes each on: what
/// NIO's `ByteToMessageHandler` did here, without its generality. That handler is generic over its
/// decoder and not specialised across modules, so every read paid for runtime metadata lookups and
/// buffer bookkeeping it has for cases we do not have (re-entrant reads, removal, write observing):
/// about 15% of a loaded echo's samples (docs/BENCHMARKS.md "Session 15").
///
/// Bytes that do not yet make a whole frame are kept for the next read. A decoding error is passed
/// on once (the connection handler answers it with GOAWAY and closes); what arrives after it is
/// dropped. At the end of the input, bytes of an unfinished frame are reported as
/// `truncatedFrame`, as `ByteToMessageHandler` reported them through `decodeLast`.
final class FrameReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = Frame

    private var decoder: FrameDecoder
    /// The start of a frame whose rest has not arrived.
    private var pending: ByteBuffer?
    private var failed = false

    init(_ decoder: FrameDecoder) {
        self.decoder = decoder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var bytes = Self.unwrapInboundIn(data)
        if var earlier = pending {
            pending = nil
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        do {
            while let frame = try decoder.decodeFrame(buffer: &bytes) {
                context.fireChannelRead(Self.wrapInboundOut(frame))
                if failed { return }
            }
        } catch {
            failed = true
            context.fireErrorCaught(error)
            return
        }
        if bytes.readableBytes > 0 {
            bytes.discardReadBytes()
            pending = bytes
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        endOfInput(context: context)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event as? ChannelEvent == .some(.inputClosed) { endOfInput(context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    private func endOfInput(context: ChannelHandlerContext) {
        guard !failed, let rest = pending, rest.readableBytes > 0 else { return }
        failed = true
        pending = nil
        context.fireErrorCaught(FrameDecodingError(.truncatedFrame(bufferedBytes: rest.readableBytes)))
    }
}
