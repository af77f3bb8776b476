public import NIOCore

/// One decoded frame: the fixed header, the parsed metadata and the payload bytes.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------------------------------------------------------+
/// |                  frame length L (u32, BE)                     |  bytes after this field
/// +---------------+---------------+-------------------------------+
/// |  version (u8) |   type (u8)   |          flags (u16)          |
/// +---------------+---------------+-------------------------------+
/// |                       stream id (u32)                         |
/// +-------------------------------+-------------------------------+
/// |        service id (u16)       |        method id (u16)        |
/// +-------------------------------+-------------------------------+
/// |                    metadata length M (u32)                    |
/// +---------------------------------------------------------------+
/// |            metadata: M bytes of tag-length-value              |
/// +---------------------------------------------------------------+
/// |            payload: L - 16 - M bytes (usually protobuf)       |
/// +---------------------------------------------------------------+
/// ```
///
/// The payload is a slice of the received bytes; decoding does not copy it.
public struct Frame: Sendable, Hashable {
    public var version: UInt8
    public var type: FrameType
    public var flags: FrameFlags
    public var streamID: UInt32
    public var method: MethodID
    public var metadata: Metadata
    public var payload: ByteBuffer

    public init(
        version: UInt8 = WireFormat.handshakeVersion,
        type: FrameType,
        flags: FrameFlags = [],
        streamID: UInt32,
        method: MethodID = .none,
        metadata: Metadata = Metadata(),
        payload: ByteBuffer = ByteBuffer()
    ) {
        self.version = version
        self.type = type
        self.flags = flags
        self.streamID = streamID
        self.method = method
        self.metadata = metadata
        self.payload = payload
    }
}

extension Frame {
    /// Decodes one frame from `bytes`, which hold exactly the L bytes after the length prefix.
    ///
    /// Checks everything about the frame that does not depend on connection state: version, type,
    /// stream id rules, metadata structure, and the fixed sizes of control payloads.
    public static func decode(frameBody bytes: inout ByteBuffer) throws(FrameDecodingError) -> Frame {
        let length = bytes.readableBytes
        guard length >= WireFormat.fixedHeaderSize else {
            throw FrameDecodingError(.frameTooShort(length: UInt32(truncatingIfNeeded: length)))
        }
        // The fixed header in one read of the buffer: a readInteger per field paid NIO's storage
        // access checks eight times a frame (the history of docs/BENCHMARKS.md, "Fewer steps per frame").
        let (versionByte, typeByte, flags, streamID, service, methodNumber, metadataLength) = bytes.withUnsafeReadableBytes { raw in
            (
                raw[0], raw[1],
                UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: 2, as: UInt16.self)),
                UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)),
                UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self)),
                UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: 10, as: UInt16.self)),
                UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
            )
        }
        bytes.moveReaderIndex(forwardBy: WireFormat.fixedHeaderSize)
        guard WireFormat.supportedVersions.contains(UInt16(versionByte)) else {
            throw FrameDecodingError(.unsupportedVersion(versionByte))
        }
        guard let type = FrameType(rawValue: typeByte) else {
            throw FrameDecodingError(.unknownFrameType(typeByte))
        }
        guard Int(metadataLength) <= bytes.readableBytes else {
            throw FrameDecodingError(.metadataOverrun(declared: metadataLength, available: bytes.readableBytes))
        }
        guard Int(metadataLength) <= WireFormat.maxMetadataSize else {
            throw FrameDecodingError(.metadataTooLarge(declared: metadataLength))
        }
        // Both reads are within the bounds checked above.
        var metadataBytes = bytes.readSlice(length: Int(metadataLength))!
        let metadata = try Metadata.decode(from: &metadataBytes)
        let payload = bytes.readSlice(length: bytes.readableBytes)!

        let frame = Frame(
            version: versionByte,
            type: type,
            flags: FrameFlags(rawValue: flags),
            streamID: streamID,
            method: MethodID(service: service, method: methodNumber),
            metadata: metadata,
            payload: payload
        )
        try frame.validateStructure()
        return frame
    }

    /// The rules every frame of a type must keep, whatever the connection state.
    func validateStructure() throws(FrameDecodingError) {
        if type.isConnectionLevel {
            guard streamID == 0 else { throw FrameDecodingError(.streamIDNotAllowed(type, streamID)) }
        } else if type != .error {
            guard streamID != 0 else { throw FrameDecodingError(.streamIDRequired(type)) }
        }
        if type == .request, method.service == 0 {
            throw FrameDecodingError(.methodRequired)
        }
        let size = payload.readableBytes
        let sizeIsValid: Bool =
            switch type {
            case .hello, .helloAck: size >= Hello.fixedSize
            case .ping, .pong: size == PingPayload.size
            case .credit: size == CreditGrant.size
            case .cancel, .streamEnd: size == 0
            case .goAway: size >= GoAway.fixedSize
            case .request, .response, .error, .streamItem: true
            }
        guard sizeIsValid else { throw FrameDecodingError(.invalidPayloadSize(type, size: size)) }
    }

    /// The number of bytes `FrameEncoder` writes for this frame, length prefix included.
    public var encodedSize: Int {
        WireFormat.lengthPrefixSize + WireFormat.fixedHeaderSize + metadata.encodedSize + payload.readableBytes
    }
}
