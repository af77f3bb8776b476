public import NIOCore

/// GOAWAY payload: the sender will process no stream with a higher id than `lastStreamID`.
///
/// ```
/// +-------------------------------+-------------------------------+-------------------+
/// |     last stream id (u32)      |       error code (u32)        | message (UTF-8)   |
/// +-------------------------------+-------------------------------+-------------------+
/// ```
/// Code 0 (OK) is a graceful drain; any other code names why the connection is going away.
public struct GoAway: Sendable, Hashable {
    public static let fixedSize = 8
    public static let maxMessageSize = 1024

    public var lastStreamID: UInt32
    public var code: ErrorCode
    public var message: String

    public init(lastStreamID: UInt32, code: ErrorCode = .ok, message: String = "") {
        self.lastStreamID = lastStreamID
        self.code = code
        self.message = message
    }

    public var encodedPayload: ByteBuffer {
        var buffer = ByteBuffer()
        let text = message.truncatedUTF8(maxBytes: Self.maxMessageSize).utf8
        buffer.reserveCapacity(Self.fixedSize + text.count)
        buffer.writeMultipleIntegers(lastStreamID, code.rawValue)
        buffer.writeBytes(text)
        return buffer
    }

    public init(payload: ByteBuffer) throws(FrameDecodingError) {
        var bytes = payload
        guard let (last, code) = bytes.readMultipleIntegers(as: (UInt32, UInt32).self) else {
            throw FrameDecodingError(.invalidPayloadSize(.goAway, size: payload.readableBytes))
        }
        guard bytes.readableBytes <= Self.maxMessageSize else {
            throw FrameDecodingError(.invalidPayload(.goAway, problem: "message longer than \(Self.maxMessageSize) bytes"))
        }
        guard let message = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw FrameDecodingError(.invalidPayload(.goAway, problem: "message is not valid UTF-8"))
        }
        self.init(lastStreamID: last, code: ErrorCode(rawValue: code), message: message)
    }
}

/// CREDIT payload: how many more STREAM_ITEM frames the client accepts on the stream (u32, > 0).
public struct CreditGrant: Sendable, Hashable {
    public static let size = 4

    /// The largest credit a stream may have outstanding; a grant that would pass it is malformed.
    public static let maxOutstanding: UInt32 = 1 << 31 - 1

    public var items: UInt32

    public init(items: UInt32) { self.items = items }

    public var encodedPayload: ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(items)
        return buffer
    }

    public init(payload: ByteBuffer) throws(FrameDecodingError) {
        guard payload.readableBytes == Self.size, let items = payload.getInteger(at: payload.readerIndex, as: UInt32.self) else {
            throw FrameDecodingError(.invalidPayloadSize(.credit, size: payload.readableBytes))
        }
        guard items > 0, items <= Self.maxOutstanding else {
            throw FrameDecodingError(.invalidPayload(.credit, problem: "grant of \(items) outside 1...\(Self.maxOutstanding)"))
        }
        self.items = items
    }
}

/// PING and PONG payload: 8 opaque bytes, echoed unchanged in the PONG.
public struct PingPayload: Sendable, Hashable {
    public static let size = 8

    public var value: UInt64

    public init(value: UInt64) { self.value = value }

    public var encodedPayload: ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(value)
        return buffer
    }

    public init(payload: ByteBuffer) throws(FrameDecodingError) {
        guard payload.readableBytes == Self.size, let value = payload.getInteger(at: payload.readerIndex, as: UInt64.self) else {
            throw FrameDecodingError(.invalidPayloadSize(.ping, size: payload.readableBytes))
        }
        self.value = value
    }
}
