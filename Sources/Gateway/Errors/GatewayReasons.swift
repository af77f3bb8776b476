public import WireProtocol

/// The error reasons Gateway sends (docs/PROTOCOL.md section 9.5 says when each is sent).
extension ErrorReason {
    public static let callerConnectionLimit = ErrorReason("CALLER_CONNECTION_LIMIT")
    public static let certificateRevoked = ErrorReason("CERTIFICATE_REVOKED")
    public static let methodNotAllowed = ErrorReason("METHOD_NOT_ALLOWED")
    public static let noBackend = ErrorReason("NO_BACKEND")
    /// UNAUTHENTICATED (stream 0): the gateway got no client certificate (TLS configured without requiring
    /// one).
    public static let noClientCertificate = ErrorReason("NO_CLIENT_CERTIFICATE")
    public static let rateLimited = ErrorReason("RATE_LIMITED")
    public static let unknownCaller = ErrorReason("UNKNOWN_CALLER")
}
