public import WireProtocol

/// The error reasons RPCTransport sends (docs/PROTOCOL.md section 9.5 says when each is sent).
extension ErrorReason {
    /// CANCELLED: the call was cancelled while its handler ran (a drain past `timeouts.drain_ms`).
    public static let cancelled = ErrorReason("CANCELLED")
    public static let connectionClosed = ErrorReason("CONNECTION_CLOSED")
    public static let connectionFailed = ErrorReason("CONNECTION_FAILED")
    public static let connectFailed = ErrorReason("CONNECT_FAILED")
    public static let deadlineExceeded = ErrorReason("DEADLINE_EXCEEDED")
    /// INVALID_ARGUMENT (connection): a CREDIT would take a stream's outstanding credit past 2^31 - 1 (8.3).
    public static let flowControlOverflow = ErrorReason("FLOW_CONTROL_OVERFLOW")
    /// INTERNAL: the handler failed in a way it did not foresee; the server logs the error, the message
    /// says nothing more.
    public static let `internal` = ErrorReason("INTERNAL")
    public static let keepaliveTimeout = ErrorReason("KEEPALIVE_TIMEOUT")
    public static let malformedRequest = ErrorReason("MALFORMED_REQUEST")
    public static let unknownMethod = ErrorReason("UNKNOWN_METHOD")
}
