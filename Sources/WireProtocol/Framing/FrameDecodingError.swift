/// A frame that cannot be accepted: oversize, truncated or malformed. It carries the offending
/// values so logs and tests can say exactly what arrived.
///
/// Every such error is fatal to the connection: the receiver answers with an ERROR frame on
/// stream 0 (see ``rpcError``) and closes.
public struct FrameDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The connection did not start with `WireFormat.preface`.
        case badPreface(offset: Int, byte: UInt8)
        /// The length prefix is below the 16-byte fixed header.
        case frameTooShort(length: UInt32)
        /// The length prefix exceeds the receiver's maximum frame size.
        case frameTooLarge(length: UInt32, maxFrameSize: Int)
        /// The connection ended inside a frame.
        case truncatedFrame(bufferedBytes: Int)
        case unsupportedVersion(UInt8)
        case unknownFrameType(UInt8)
        /// A connection-level frame carried a stream id.
        case streamIDNotAllowed(FrameType, UInt32)
        /// A stream frame carried stream id 0.
        case streamIDRequired(FrameType)
        /// A REQUEST named service 0.
        case methodRequired
        case metadataOverrun(declared: UInt32, available: Int)
        case metadataTooLarge(declared: UInt32)
        /// A metadata entry's length runs past the block, or its value is invalid for its tag.
        case malformedMetadata(tag: UInt16, problem: String)
        case duplicateMetadataTag(UInt16)
        /// A control frame's payload has the wrong size for its type.
        case invalidPayloadSize(FrameType, size: Int)
        /// A control payload of the right size holds values the protocol forbids.
        case invalidPayload(FrameType, problem: String)
    }

    public var kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    /// The stable reason sent to the peer in `Status.reason`.
    public var reason: ErrorReason {
        switch kind {
        case .badPreface: .badPreface
        case .frameTooShort: .frameTooShort
        case .frameTooLarge: .frameTooLarge
        case .truncatedFrame: .truncatedFrame
        case .unsupportedVersion: .unsupportedVersion
        case .unknownFrameType: .unknownFrameType
        case .streamIDNotAllowed, .streamIDRequired: .badStreamId
        case .methodRequired: .methodRequired
        case .metadataOverrun, .metadataTooLarge, .malformedMetadata, .duplicateMetadataTag: .malformedMetadata
        case .invalidPayloadSize, .invalidPayload: .malformedPayload
        }
    }

    public var description: String {
        switch kind {
        case .badPreface(let offset, let byte):
            "connection preface mismatch at byte \(offset) (0x\(String(byte, radix: 16)))"
        case .frameTooShort(let length):
            "frame length \(length) is below the \(WireFormat.fixedHeaderSize)-byte header"
        case .frameTooLarge(let length, let max):
            "frame length \(length) exceeds the maximum frame size \(max)"
        case .truncatedFrame(let bytes):
            "connection ended inside a frame (\(bytes) bytes buffered)"
        case .unsupportedVersion(let version):
            "protocol version \(version) is not supported (supported: \(WireFormat.supportedVersions.lowerBound)...\(WireFormat.supportedVersions.upperBound))"
        case .unknownFrameType(let type):
            "unknown frame type 0x\(String(type, radix: 16))"
        case .streamIDNotAllowed(let type, let id):
            "\(type) must use stream 0, not \(id)"
        case .streamIDRequired(let type):
            "\(type) needs a non-zero stream id"
        case .methodRequired:
            "REQUEST must name a service"
        case .metadataOverrun(let declared, let available):
            "metadata length \(declared) exceeds the \(available) bytes left in the frame"
        case .metadataTooLarge(let declared):
            "metadata length \(declared) exceeds \(WireFormat.maxMetadataSize)"
        case .malformedMetadata(let tag, let problem):
            "metadata tag 0x\(String(tag, radix: 16)): \(problem)"
        case .duplicateMetadataTag(let tag):
            "metadata tag 0x\(String(tag, radix: 16)) appears twice"
        case .invalidPayloadSize(let type, let size):
            "\(type) payload of \(size) bytes has the wrong size"
        case .invalidPayload(let type, let problem):
            "\(type) payload: \(problem)"
        }
    }

    /// What the receiver sends the peer before closing.
    public var rpcError: RPCError {
        var error = RPCError(code: .invalidArgument, message: description, reason: reason, processing: .notProcessed)
        switch kind {
        case .frameTooLarge:
            error.code = .resourceExhausted
        case .unsupportedVersion:
            error.code = .failedPrecondition
            error.supportedVersions = WireFormat.supportedVersions
        default:
            break
        }
        return error
    }
}
