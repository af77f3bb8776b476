public import NIOCore
public import SwiftProtobuf

/// Lets SwiftProtobuf read from and write into a `ByteBuffer` directly, so a payload is decoded from
/// the received bytes and encoded without an intermediate array.
struct ByteBufferBytes: SwiftProtobufContiguousBytes {
    var buffer: ByteBuffer

    init(_ buffer: ByteBuffer) { self.buffer = buffer }
    init(repeating: UInt8, count: Int) { buffer = ByteBuffer(repeating: repeating, count: count) }
    init<S: Sequence>(_ sequence: S) where S.Element == UInt8 { buffer = ByteBuffer(bytes: sequence) }

    var count: Int { buffer.readableBytes }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeReadableBytes(body)
    }

    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeMutableReadableBytes(body)
    }
}

extension SwiftProtobuf.Message {
    /// Decodes the message from a frame payload without copying it first.
    public init(payload: ByteBuffer) throws {
        try self.init(serializedBytes: ByteBufferBytes(payload))
    }

    /// Encodes the message as a frame payload: each nested message sized once
    /// (``SizeCachingEncoder``), or by SwiftProtobuf for the field kinds that encoder leaves to it.
    public func encodedPayload() throws -> ByteBuffer {
        if let buffer = SizeCachingEncoder.encode(self) { return buffer }
        let bytes: ByteBufferBytes = try serializedBytes()
        return bytes.buffer
    }
}
