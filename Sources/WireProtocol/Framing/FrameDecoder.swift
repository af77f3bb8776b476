public import NIOCore

/// Cuts a byte stream into ``Frame``s. Usable from a NIO pipeline via `ByteToMessageHandler` or
/// `NIOSingleStepByteToMessageProcessor`.
///
/// The length prefix is checked against ``maxFrameSize`` as soon as its four bytes arrive, before
/// any payload is buffered, so a peer declaring a huge frame is refused at once. The server side
/// first checks the connection preface, byte by byte, so a non-CRM client fails on its first byte.
public struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = Frame

    /// The largest frame (length prefix value) accepted.
    public var maxFrameSize: Int

    /// How many preface bytes are still expected (server side only).
    private var prefaceBytesPending: Int

    /// - Parameters:
    ///   - maxFrameSize: the largest frame accepted; defaults to 4 MiB.
    ///   - expectPreface: true on the server side of a connection, which starts with the preface.
    public init(maxFrameSize: FrameSizeLimit = .default, expectPreface: Bool) {
        self.maxFrameSize = maxFrameSize.value
        self.prefaceBytesPending = expectPreface ? WireFormat.preface.count : 0
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> Frame? {
        try decodeFrame(buffer: &buffer)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> Frame? {
        if let frame = try decodeFrame(buffer: &buffer) { return frame }
        if seenEOF, buffer.readableBytes > 0 {
            throw FrameDecodingError(.truncatedFrame(bufferedBytes: buffer.readableBytes))
        }
        return nil
    }

    /// The typed-throws core shared by both entry points.
    public mutating func decodeFrame(buffer: inout ByteBuffer) throws(FrameDecodingError) -> Frame? {
        if prefaceBytesPending > 0 {
            try consumePreface(&buffer)
            if prefaceBytesPending > 0 { return nil }
        }
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length >= WireFormat.fixedHeaderSize else {
            throw FrameDecodingError(.frameTooShort(length: length))
        }
        guard Int(length) <= maxFrameSize else {
            throw FrameDecodingError(.frameTooLarge(length: length, maxFrameSize: maxFrameSize))
        }
        guard buffer.readableBytes >= WireFormat.lengthPrefixSize + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: WireFormat.lengthPrefixSize)
        var body = buffer.readSlice(length: Int(length))!  // length checked just above
        return try Frame.decode(frameBody: &body)
    }

    private mutating func consumePreface(_ buffer: inout ByteBuffer) throws(FrameDecodingError) {
        while prefaceBytesPending > 0, let byte = buffer.readInteger(as: UInt8.self) {
            let offset = WireFormat.preface.count - prefaceBytesPending
            guard byte == WireFormat.preface[offset] else {
                throw FrameDecodingError(.badPreface(offset: offset, byte: byte))
            }
            prefaceBytesPending -= 1
        }
    }
}
