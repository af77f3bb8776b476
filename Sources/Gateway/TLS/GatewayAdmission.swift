public import Logging
internal import NIOConcurrencyHelpers
public import NIOSSL
public import ServiceRuntime
public import WireProtocol
internal import X509
internal import SwiftASN1

/// Who may connect to the gateway: during the TLS handshake, a certificate the configured CRLs
/// revoke is refused; at HELLO, the certificate must name a caller policy (common name or a
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

    /// Puts new CRLs in force for the handshakes that start from now on.
    public func replaceRevocations(_ lists: [RevocationList]) {
        revocations.withLockedValue { $0 = lists }
    }

    public func verifyDuringHandshake(_ leaf: NIOSSLCertificate) throws {
        let lists = revocations.withLockedValue { $0 }
        guard !lists.isEmpty else { return }
        let certificate = try Certificate(derEncoded: leaf.toDERBytes())
        for list in lists where list.issuer == certificate.issuer {
            if list.isRevoked(serialNumber: certificate.serialNumber.bytes) {
                logger.warning(
                    "refusing revoked client certificate",
                    metadata: ["subject": "\(certificate.subject)", "serial": "\(certificate.serialNumber)"])
                throw RevokedCertificate()
            }
        }
    }

    public func admit(peerCertificate: NIOSSLCertificate?) throws(RPCError) -> AdmittedPeer {
        guard let peerCertificate else {
            throw RPCError(code: .unauthenticated, message: "a client certificate is required", reason: "NO_CLIENT_CERTIFICATE",
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

/// The handshake failure for a certificate a CRL lists.
struct RevokedCertificate: Error {}
