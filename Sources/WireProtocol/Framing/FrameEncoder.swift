public import NIOCore

/// Writes ``Frame``s in the wire layout of docs/PROTOCOL.md.
///
/// Frames are appended to a caller-owned buffer so that a transport can coalesce many frames into
/// one write and one flush.
public struct FrameEncoder: Sendable {
    /// The largest frame the peer accepts (its HELLO's max frame size). Before the handshake
    /// completes this is the protocol's minimum, which every peer accepts.
    public var peerMaxFrameSize: Int

    public init(peerMaxFrameSize: Int = FrameSizeLimit.minMaxFrameSize) {
        self.peerMaxFrameSize = peerMaxFrameSize
    }

    /// Appends `frame` to `buffer`.
    ///
    /// - Throws: ``FrameEncodingError`` if the frame would exceed ``peerMaxFrameSize``; nothing is
    ///   written then.
    public func encode(_ frame: Frame, into buffer: inout ByteBuffer) throws(FrameEncodingError) {
        let metadataSize = frame.metadata.encodedSize
        let length = WireFormat.fixedHeaderSize + metadataSize + frame.payload.readableBytes
        guard length <= peerMaxFrameSize else {
            throw FrameEncodingError(frameSize: length, peerMaxFrameSize: peerMaxFrameSize, type: frame.type)
        }
        buffer.reserveCapacity(minimumWritableBytes: WireFormat.lengthPrefixSize + length)
        // The length prefix and fixed header in one write to the buffer: a writeInteger per field
        // paid NIO's storage access checks eight times a frame (the history of docs/BENCHMARKS.md, "Fewer steps
        // per frame").
        let headerSize = WireFormat.lengthPrefixSize + WireFormat.fixedHeaderSize
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: headerSize) { out in
            out.storeBytes(of: UInt32(length).bigEndian, toByteOffset: 0, as: UInt32.self)
            out.storeBytes(of: frame.version, toByteOffset: 4, as: UInt8.self)
            out.storeBytes(of: frame.type.rawValue, toByteOffset: 5, as: UInt8.self)
            out.storeBytes(of: frame.flags.rawValue.bigEndian, toByteOffset: 6, as: UInt16.self)
            out.storeBytes(of: frame.streamID.bigEndian, toByteOffset: 8, as: UInt32.self)
            out.storeBytes(of: frame.method.service.bigEndian, toByteOffset: 12, as: UInt16.self)
            out.storeBytes(of: frame.method.method.bigEndian, toByteOffset: 14, as: UInt16.self)
            out.storeBytes(of: UInt32(metadataSize).bigEndian, toByteOffset: 16, as: UInt32.self)
            return headerSize
        }
        frame.metadata.encode(into: &buffer)
        var payload = frame.payload
        buffer.writeBuffer(&payload)
    }

    /// The connection preface a client writes first.
    public static func writePreface(into buffer: inout ByteBuffer) {
        buffer.writeBytes(WireFormat.preface)
    }
}

/// A frame larger than the peer accepts. The frame was not written; for a response this becomes a
/// RESOURCE_EXHAUSTED error on the stream.
public struct FrameEncodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public var frameSize: Int
    public var peerMaxFrameSize: Int
    public var type: FrameType

    public var description: String {
        "\(type) frame of \(frameSize) bytes exceeds the peer's maximum frame size \(peerMaxFrameSize)"
    }

    public var rpcError: RPCError {
        RPCError(code: .resourceExhausted, message: description, reason: .frameTooLarge, processing: .maybeProcessed)
    }
}

/// A NIO outbound handler that encodes frames with a ``FrameEncoder``.
public final class FrameMessageEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Frame

    public var encoder: FrameEncoder

    public init(encoder: FrameEncoder = FrameEncoder()) {
        self.encoder = encoder
    }

    public func encode(data: Frame, out: inout ByteBuffer) throws {
        try encoder.encode(data, into: &out)
    }
}

@available(*, unavailable)
extension FrameMessageEncoder: Sendable {}
