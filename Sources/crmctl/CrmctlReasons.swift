internal import WireProtocol

/// The error reasons crmctl sends (docs/PROTOCOL.md section 9.5 says when each is sent).
extension ErrorReason {
    static let clientError = ErrorReason("CLIENT_ERROR")
    static let invalidJson = ErrorReason("INVALID_JSON")
}
