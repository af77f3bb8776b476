/// The error reasons WireProtocol sends (docs/PROTOCOL.md section 9.5 says when each is sent).
extension ErrorReason {
    /// A malformed frame (PROTOCOL.md section 4.3).
    public static let badPreface = ErrorReason("BAD_PREFACE")
    /// A malformed frame (PROTOCOL.md section 4.3).
    public static let badStreamId = ErrorReason("BAD_STREAM_ID")
    public static let closed = ErrorReason("CLOSED")
    public static let draining = ErrorReason("DRAINING")
    public static let frameTooLarge = ErrorReason("FRAME_TOO_LARGE")
    /// A malformed frame (PROTOCOL.md section 4.3).
    public static let frameTooShort = ErrorReason("FRAME_TOO_SHORT")
    public static let handshakeTimeout = ErrorReason("HANDSHAKE_TIMEOUT")
    /// A malformed frame (PROTOCOL.md section 4.3).
    public static let malformedMetadata = ErrorReason("MALFORMED_METADATA")
    public static let malformedPayload = ErrorReason("MALFORMED_PAYLOAD")
    /// A malformed frame (PROTOCOL.md section 4.3).
    public static let methodRequired = ErrorReason("METHOD_REQUIRED")
    public static let notReady = ErrorReason("NOT_READY")
    public static let pingAbuse = ErrorReason("PING_ABUSE")
    public static let streamIdsExhausted = ErrorReason("STREAM_IDS_EXHAUSTED")
    public static let streamIdReused = ErrorReason("STREAM_ID_REUSED")
    public static let tooManyStreams = ErrorReason("TOO_MANY_STREAMS")
    /// A malformed frame (PROTOCOL.md section 4.3).
    public static let truncatedFrame = ErrorReason("TRUNCATED_FRAME")
    public static let unexpectedFrame = ErrorReason("UNEXPECTED_FRAME")
    /// A malformed frame (PROTOCOL.md section 4.3).
    public static let unknownFrameType = ErrorReason("UNKNOWN_FRAME_TYPE")
    public static let unsupportedVersion = ErrorReason("UNSUPPORTED_VERSION")
    /// INVALID_ARGUMENT (connection): a frame after the handshake carries a version other than the
    /// negotiated one.
    public static let versionMismatch = ErrorReason("VERSION_MISMATCH")
}
