internal import NIOCore
internal import WireProtocol

/// Cuts a connection's bytes into ``Frame``s with ``FrameDecoder``, inside the connection handler
/// that reads them: each read's bytes are appended, then ``next()`` is called until it returns nil.
///
/// It replaced NIO's `ByteToMessageHandler` (generic over its decoder and not specialised across
/// modules: about 15% of a loaded echo's samples, the history of docs/BENCHMARKS.md, "The mirrors' share of an
/// update") and then its own channel handler, whose hand-over of each frame boxed it in an `NIOAny`
/// (about 4% more, "Fewer steps per frame"). Being a value the handler calls, not a handler of its
/// own, it never re-enters: a close set off by one frame cannot reach it while it decodes the next.
///
/// Bytes that do not yet make a whole frame are kept for the next read. After a decoding error
/// (reported once) everything is dropped. At the end of the input, bytes of an unfinished frame are
/// reported as `truncatedFrame`, as `ByteToMessageHandler` reported them through `decodeLast`.
struct FrameReader {
    private var decoder: FrameDecoder
    /// Received bytes not yet cut into frames.
    private var buffered: ByteBuffer?
    private var failed = false

    init(_ decoder: FrameDecoder) {
        self.decoder = decoder
    }

    /// Adds a read's bytes after those kept.
    mutating func append(_ bytes: ByteBuffer) {
        guard !failed else { return }
        if buffered == nil {
            buffered = bytes
        } else {
            var bytes = bytes
            buffered!.writeBuffer(&bytes)
        }
    }

    /// The next whole frame, or nil until more bytes arrive.
    ///
    /// - Throws: ``FrameDecodingError``, once; nothing more is returned after it.
    mutating func next() throws(FrameDecodingError) -> Frame? {
        guard !failed, buffered != nil else { return nil }
        do {
            if let frame = try decoder.decodeFrame(buffer: &buffered!) { return frame }
        } catch {
            failed = true
            buffered = nil
            throw error
        }
        // Keep only the start of the unfinished frame; with nothing left, let the read's buffer go.
        if buffered!.readableBytes == 0 {
            buffered = nil
        } else {
            buffered!.discardReadBytes()
        }
        return nil
    }

    /// The input ended: `truncatedFrame` if it ended inside a frame.
    mutating func endOfInput() -> FrameDecodingError? {
        guard !failed, let rest = buffered, rest.readableBytes > 0 else { return nil }
        failed = true
        buffered = nil
        return FrameDecodingError(.truncatedFrame(bufferedBytes: rest.readableBytes))
    }
}
