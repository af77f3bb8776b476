public import NIOCore

/// The payload of HELLO (client) and HELLO_ACK (server). This layout is frozen: it can never change,
/// so that peers of any two versions can always negotiate (docs/PROTOCOL.md, "Handshake").
///
/// ```
///  0               2               4                               8
/// +---------------+---------------+-------------------------------+
/// | min version   | max version   |    max frame size (u32)       |
/// +---------------+---------------+-------------------------------+
/// |  max concurrent streams (u32) |  min ping interval ms (u32)   |
/// +-------------------------------+-------------------------------+
/// |                      features (u64 bit set)                   |
/// +---------------------------------------------------------------+
/// |  extensions: tag-length-value entries, like metadata (24..L)  |
/// +---------------------------------------------------------------+
/// ```
///
/// In HELLO_ACK both version fields hold the version the server chose.
public struct Hello: Sendable, Hashable {
    public static let fixedSize = 24

    public var minVersion: UInt16
    public var maxVersion: UInt16
    /// The largest frame (length prefix value) the sender accepts.
    public var maxFrameSize: UInt32
    /// How many calls the sender lets the peer have open at once (server), or will open (client).
    public var maxConcurrentStreams: UInt32
    /// The sender treats pings from the peer more often than this as abuse.
    public var minPingIntervalMilliseconds: UInt32
    public var features: Features

    public init(
        minVersion: UInt16 = WireFormat.supportedVersions.lowerBound,
        maxVersion: UInt16 = WireFormat.supportedVersions.upperBound,
        maxFrameSize: UInt32 = UInt32(FrameSizeLimit.defaultMaxFrameSize),
        maxConcurrentStreams: UInt32 = 1024,
        minPingIntervalMilliseconds: UInt32 = 5_000,
        features: Features = .all
    ) {
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.maxFrameSize = maxFrameSize
        self.maxConcurrentStreams = maxConcurrentStreams
        self.minPingIntervalMilliseconds = minPingIntervalMilliseconds
        self.features = features
    }

    /// Optional capabilities. Each side announces its own; the connection uses the intersection.
    public struct Features: OptionSet, Sendable, Hashable {
        public var rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }

        /// Server streams with credit flow control (STREAM_ITEM, STREAM_END, CREDIT).
        public static let serverStreams = Features(rawValue: 1 << 0)

        /// Every feature this implementation supports.
        public static let all: Features = [.serverStreams]
    }
}

extension Hello {
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(
            minVersion, maxVersion, maxFrameSize, maxConcurrentStreams, minPingIntervalMilliseconds, features.rawValue)
    }

    public var encodedPayload: ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(Self.fixedSize)
        encode(into: &buffer)
        return buffer
    }

    /// Parses a HELLO or HELLO_ACK payload. Extension entries are checked for structure and skipped.
    public init(payload: ByteBuffer, type: FrameType = .hello) throws(FrameDecodingError) {
        var bytes = payload
        guard
            let (minVersion, maxVersion, maxFrameSize, maxStreams, minPing, features) = bytes.readMultipleIntegers(
                as: (UInt16, UInt16, UInt32, UInt32, UInt32, UInt64).self)
        else {
            throw FrameDecodingError(.invalidPayloadSize(type, size: payload.readableBytes))
        }
        try TagLengthValue.skipAll(in: &bytes, frameType: type)
        guard minVersion >= 1, minVersion <= maxVersion else {
            throw FrameDecodingError(.invalidPayload(type, problem: "version range \(minVersion)...\(maxVersion) is empty"))
        }
        guard maxFrameSize >= FrameSizeLimit.minMaxFrameSize else {
            throw FrameDecodingError(
                .invalidPayload(type, problem: "max frame size \(maxFrameSize) is below \(FrameSizeLimit.minMaxFrameSize)"))
        }
        guard maxStreams >= 1 else {
            throw FrameDecodingError(.invalidPayload(type, problem: "max concurrent streams is 0"))
        }
        self.init(
            minVersion: minVersion, maxVersion: maxVersion, maxFrameSize: maxFrameSize,
            maxConcurrentStreams: maxStreams, minPingIntervalMilliseconds: minPing,
            features: Features(rawValue: features))
    }
}

/// What both sides agreed in the handshake, and what each must respect from now on.
public struct NegotiatedParameters: Sendable, Hashable {
    public var version: UInt16
    /// The largest frame the peer accepts: frames we send must not be larger.
    public var peerMaxFrameSize: Int
    /// The most calls the server lets the client have open at once.
    public var maxConcurrentStreams: UInt32
    /// The server's minimum ping interval.
    public var minPingIntervalMilliseconds: UInt32
    public var features: Hello.Features

    public init(
        version: UInt16, peerMaxFrameSize: Int, maxConcurrentStreams: UInt32,
        minPingIntervalMilliseconds: UInt32, features: Hello.Features
    ) {
        self.version = version
        self.peerMaxFrameSize = peerMaxFrameSize
        self.maxConcurrentStreams = maxConcurrentStreams
        self.minPingIntervalMilliseconds = minPingIntervalMilliseconds
        self.features = features
    }
}

extension Hello {
    /// The server's side of the handshake: chooses the highest version both support and builds the
    /// HELLO_ACK, or the error that names the server's supported range.
    ///
    /// - Parameters:
    ///   - client: the client's HELLO.
    ///   - server: the server's own limits; its version fields are the range the server supports.
    public static func negotiate(client: Hello, server: Hello) -> Result<(ack: Hello, parameters: NegotiatedParameters), RPCError> {
        let low = max(client.minVersion, server.minVersion)
        let high = min(client.maxVersion, server.maxVersion)
        guard low <= high else {
            var error = RPCError(
                code: .failedPrecondition,
                message: "no common protocol version: client supports \(client.minVersion)...\(client.maxVersion), server supports \(server.minVersion)...\(server.maxVersion)",
                reason: .unsupportedVersion,
                processing: .notProcessed)
            error.supportedVersions = server.minVersion...server.maxVersion
            return .failure(error)
        }
        var ack = server
        ack.minVersion = high
        ack.maxVersion = high
        ack.features = client.features.intersection(server.features)
        let parameters = NegotiatedParameters(
            version: high,
            peerMaxFrameSize: Int(min(client.maxFrameSize, UInt32(FrameSizeLimit.hardMaxFrameSize))),
            maxConcurrentStreams: server.maxConcurrentStreams,
            minPingIntervalMilliseconds: server.minPingIntervalMilliseconds,
            features: ack.features)
        return .success((ack, parameters))
    }

    /// The client's side: checks the server's HELLO_ACK against the client's HELLO.
    public static func accept(ack: Hello, sent hello: Hello) -> Result<NegotiatedParameters, RPCError> {
        guard ack.minVersion == ack.maxVersion, (hello.minVersion...hello.maxVersion).contains(ack.minVersion) else {
            return .failure(
                RPCError(
                    code: .failedPrecondition,
                    message: "server chose version \(ack.minVersion)...\(ack.maxVersion), outside \(hello.minVersion)...\(hello.maxVersion)",
                    reason: .unsupportedVersion, processing: .notProcessed))
        }
        return .success(
            NegotiatedParameters(
                version: ack.minVersion,
                peerMaxFrameSize: Int(min(ack.maxFrameSize, UInt32(FrameSizeLimit.hardMaxFrameSize))),
                maxConcurrentStreams: ack.maxConcurrentStreams,
                minPingIntervalMilliseconds: ack.minPingIntervalMilliseconds,
                features: ack.features.intersection(hello.features)))
    }
}

/// Tag-length-value entries (u16 tag, u16 length, value), the encoding of metadata and hello
/// extensions.
enum TagLengthValue {
    /// Checks that `bytes` hold whole entries and consumes them.
    static func skipAll(in bytes: inout ByteBuffer, frameType: FrameType) throws(FrameDecodingError) {
        while bytes.readableBytes > 0 {
            guard let (tag, length) = bytes.readMultipleIntegers(as: (UInt16, UInt16).self),
                bytes.readSlice(length: Int(length)) != nil
            else {
                throw FrameDecodingError(.invalidPayload(frameType, problem: "extension entry cut short"))
            }
            _ = tag
        }
    }
}
