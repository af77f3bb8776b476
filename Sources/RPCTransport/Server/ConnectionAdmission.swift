public import NIOSSL
public import WireProtocol

/// Decides which peers a server lets in, for a server that authenticates its callers itself (the
/// gateway). Without one, a server accepts every peer its TLS configuration accepts.
public protocol ConnectionAdmission: Sendable {
    /// Runs on each TLS context the server makes (at start and at each reload), before any
    /// connection uses it: what the handshake must check beyond the CA (the gateway's CRLs, so
    /// that a revoked certificate fails inside the handshake). Throwing keeps the context out of use.
    func prepare(_ context: NIOSSLContext) throws

    /// Runs when the peer's HELLO arrives. The returned peer's name is the ``ServerCallContext``'s
    /// `peerIdentity` for every call on the connection, and `release` runs when it closes. An
    /// ``RPCError`` thrown here is sent to the peer as the connection's ERROR frame, then it closes.
    func admit(peerCertificate: NIOSSLCertificate?) throws(RPCError) -> AdmittedPeer
}

/// A peer let in by a ``ConnectionAdmission``.
public struct AdmittedPeer: Sendable {
    /// The caller name its calls run as.
    public var name: String
    /// Runs once when the connection closes (frees a per-caller connection slot).
    public var release: @Sendable () -> Void

    public init(name: String, release: @escaping @Sendable () -> Void = {}) {
        self.name = name
        self.release = release
    }
}
