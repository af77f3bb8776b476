public import Logging
internal import NIOConcurrencyHelpers
public import NIOSSL
public import ServiceRuntime
public import WireProtocol
internal import X509
internal import SwiftASN1
internal import BoringSSLRevocation
public import RPCTransport

/// Who may connect to the gateway: during the TLS handshake, a certificate the configured CRLs
/// revoke is refused (certificate_revoked); at HELLO, the certificate must name a caller policy (common name or a
/// subject alternative name) with a free connection slot.
public final class GatewayAdmission: ConnectionAdmission {
    public let callers: CallerRegistry
    private let revocations: NIOLockedValueBox<[RevocationList]>
    private let logger: Logger

    public init(callers: CallerRegistry, revocations: [RevocationList], logger: Logger) {
        self.callers = callers
        self.revocations = NIOLockedValueBox(revocations)
        self.logger = logger
    }

    /// The CRLs for the TLS contexts made now.
    public var revocationsInForce: [RevocationList] { revocations.withLockedValue { $0 } }

    /// Puts new CRLs in force for the TLS contexts made from now on; returns the ones before.
    @discardableResult
    public func replaceRevocations(_ lists: [RevocationList]) -> [RevocationList] {
        revocations.withLockedValue { current in
            defer { current = lists }
            return current
        }
    }

    /// Puts the CRLs into the context's trust store and turns CRL checking on, so that BoringSSL's
    /// own verification refuses a revoked certificate inside the handshake with the
    /// certificate_revoked alert (on TLS 1.3 the client reads it on its first read). NIOSSL gives no
    /// API for this, so the SSL_CTX is read from the context's stored property; if that fails the
    /// context is refused (fail closed) rather than used without revocation.
    public func prepare(_ context: NIOSSLContext) throws {
        let lists = revocations.withLockedValue { $0 }
        guard !lists.isEmpty else { return }
        guard let pointer = Mirror(reflecting: context).children.first(where: { $0.label == "sslContext" })?.value as? OpaquePointer else {
            throw CRLError("cannot reach the TLS context's trust store to put the CRLs in it")
        }
        let raw = UnsafeMutableRawPointer(pointer)
        for list in lists {
            let added = list.der.withUnsafeBufferPointer { crm_ssl_ctx_add_crl(raw, $0.baseAddress, $0.count) }
            guard added == 1 else { throw CRLError("the TLS library refused the CRL of \(list.issuer)") }
        }
        guard crm_ssl_ctx_check_crls(raw) == 1 else { throw CRLError("cannot turn CRL checking on") }
    }

    /// Whether a CRL in force revokes `certificate` (for connections opened before it came in force).
    public func isRevoked(_ certificate: NIOSSLCertificate) -> Bool {
        let lists = revocations.withLockedValue { $0 }
        guard let parsed = try? Certificate(derEncoded: certificate.toDERBytes()) else { return false }
        return lists.contains { $0.issuer == parsed.issuer && $0.isRevoked(serialNumber: parsed.serialNumber.bytes) }
    }

    public func admit(peerCertificate: NIOSSLCertificate?) throws(RPCError) -> AdmittedPeer {
        guard let peerCertificate else {
            throw RPCError(code: .unauthenticated, message: "a client certificate is required", reason: .noClientCertificate,
                           processing: .notProcessed)
        }
        let (policy, release) = try callers.admit(identities: Self.identities(of: peerCertificate))
        return AdmittedPeer(name: policy.name, release: release)
    }

    /// The names a certificate may be known by: its subject common name, then its DNS, URI and
    /// email alternative names.
    static func identities(of certificate: NIOSSLCertificate) -> [String] {
        var names: [String] = certificate.commonName.map { [$0] } ?? []
        guard let parsed = try? Certificate(derEncoded: certificate.toDERBytes()),
            let alternatives = try? parsed.extensions.subjectAlternativeNames
        else { return names }
        for name in alternatives {
            switch name {
            case .dnsName(let value), .uniformResourceIdentifier(let value), .rfc822Name(let value): names.append(value)
            default: break
            }
        }
        return names
    }
}

