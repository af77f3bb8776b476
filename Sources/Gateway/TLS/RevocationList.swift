public import Foundation
internal import SwiftASN1
public import X509

/// The serial numbers a CA has revoked, read from a certificate revocation list (RFC 5280
/// section 5) in PEM or DER, and accepted only if the CA's key signed it: whoever can write the
/// file cannot thereby vouch for anything, only withdraw.
public struct RevocationList: Sendable {
    /// The CA that issued the list (and the revoked certificates).
    public let issuer: DistinguishedName
    public let nextUpdate: Date?
    /// The list as the CA signed it (what the TLS library is given).
    public let der: [UInt8]
    private let revoked: Set<[UInt8]>

    public var revokedCount: Int { revoked.count }

    public func isRevoked(serialNumber: some Collection<UInt8>) -> Bool {
        revoked.contains(Self.normalized(serialNumber))
    }

    /// Reads every CRL in `file` and checks each against the CA among `authorities` that issued it.
    public static func load(file: String, authorities: [Certificate]) throws(CRLError) -> [RevocationList] {
        guard let data = FileManager.default.contents(atPath: file) else { throw CRLError("cannot read \(file)") }
        let documents: [[UInt8]]
        if let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN") {
            guard let pems = try? PEMDocument.parseMultiple(pemString: text) else { throw CRLError("\(file) is not valid PEM") }
            documents = pems.filter { $0.discriminator == "X509 CRL" }.map(\.derBytes)
        } else {
            documents = [Array(data)]
        }
        guard !documents.isEmpty else { throw CRLError("\(file) holds no X509 CRL") }
        return try documents.map { (der) throws(CRLError) in try RevocationList(der: der, authorities: authorities) }
    }

    public init(der: [UInt8], authorities: [Certificate]) throws(CRLError) {
        let parsed: Parsed
        do {
            parsed = try Parsed(der: der)
        } catch {
            throw CRLError("not a certificate revocation list: \(error)")
        }
        guard let authority = authorities.first(where: { $0.subject == parsed.issuer }) else {
            throw CRLError("the CRL's issuer \(parsed.issuer) is not a configured client CA")
        }
        guard let algorithm = Self.signatureAlgorithms[parsed.signatureAlgorithm] else {
            throw CRLError("unsupported CRL signature algorithm \(parsed.signatureAlgorithm)")
        }
        guard authority.publicKey.isValidSignature(parsed.signature, for: parsed.signedBytes, signatureAlgorithm: algorithm) else {
            throw CRLError("the CRL's signature does not verify with \(parsed.issuer)'s key")
        }
        issuer = parsed.issuer
        nextUpdate = parsed.nextUpdate
        self.der = der
        revoked = Set(parsed.serialNumbers.map(Self.normalized))
    }

    /// With CRL checking on, BoringSSL refuses every certificate of a client CA that has no CRL in
    /// force, or whose CRL is past its next update: both would refuse all of that CA's callers, so
    /// the configuration is refused instead, naming the CA.
    public static func checkCoverage(_ lists: [RevocationList], authorities: [Certificate], now: Date = Date()) throws(CRLError) {
        for authority in authorities where !lists.contains(where: { $0.issuer == authority.subject }) {
            throw CRLError("no CRL for the client CA \(authority.subject): with CRL checking on, every certificate it signed would be refused")
        }
        for list in lists {
            if let nextUpdate = list.nextUpdate, nextUpdate <= now {
                throw CRLError(
                    "the CRL of \(list.issuer) is past its next update (\(nextUpdate.formatted(.iso8601))): every certificate of that CA "
                        + "would be refused until a fresh CRL is in place")
            }
        }
    }

    /// DER integers carry a leading zero when the high bit is set; compare without it.
    private static func normalized(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let trimmed = Array(bytes.drop { $0 == 0 })
        return trimmed.isEmpty ? [0] : trimmed
    }

    private static let signatureAlgorithms: [ASN1ObjectIdentifier: Certificate.SignatureAlgorithm] = [
        [1, 2, 840, 10045, 4, 3, 2]: .ecdsaWithSHA256,
        [1, 2, 840, 10045, 4, 3, 3]: .ecdsaWithSHA384,
        [1, 2, 840, 10045, 4, 3, 4]: .ecdsaWithSHA512,
        [1, 2, 840, 113549, 1, 1, 11]: .sha256WithRSAEncryption,
        [1, 2, 840, 113549, 1, 1, 12]: .sha384WithRSAEncryption,
        [1, 2, 840, 113549, 1, 1, 13]: .sha512WithRSAEncryption,
        [1, 3, 101, 112]: .ed25519,
    ]

    /// The fields of CertificateList that matter here.
    private struct Parsed {
        var signedBytes: ArraySlice<UInt8> = []
        var issuer = DistinguishedName()
        var nextUpdate: Date?
        var serialNumbers: [ArraySlice<UInt8>] = []
        var signatureAlgorithm: ASN1ObjectIdentifier = [0, 0]
        var signature: [UInt8] = []

        init(der: [UInt8]) throws {
            let root = try DER.parse(der)
            try DER.sequence(root, identifier: .sequence) { nodes in
                guard let tbs = nodes.next(), let algorithm = nodes.next(), let signature = nodes.next() else {
                    throw ASN1Error.invalidASN1Object(reason: "CertificateList needs three fields")
                }
                signedBytes = tbs.encodedBytes
                try parseSigned(tbs)
                signatureAlgorithm = try DER.sequence(algorithm, identifier: .sequence) { fields in
                    guard let oid = fields.next() else { throw ASN1Error.invalidASN1Object(reason: "empty AlgorithmIdentifier") }
                    while fields.next() != nil {}
                    return try ASN1ObjectIdentifier(derEncoded: oid)
                }
                self.signature = Array(try ASN1BitString(derEncoded: signature).bytes)
            }
        }

        private mutating func parseSigned(_ tbs: ASN1Node) throws {
            try DER.sequence(tbs, identifier: .sequence) { fields in
                var field = fields.next()
                if field?.identifier == .integer { field = fields.next() }  // version
                guard field?.identifier == .sequence else { throw ASN1Error.invalidASN1Object(reason: "missing signature algorithm") }
                guard let issuerNode = fields.next() else { throw ASN1Error.invalidASN1Object(reason: "missing issuer") }
                issuer = try DistinguishedName(derEncoded: issuerNode)
                guard let thisUpdate = fields.next(), Self.isTime(thisUpdate) else {
                    throw ASN1Error.invalidASN1Object(reason: "missing thisUpdate")
                }
                field = fields.next()
                if let node = field, Self.isTime(node) {
                    nextUpdate = try Self.date(node)
                    field = fields.next()
                }
                if let node = field, node.identifier == .sequence {
                    guard case .constructed(let entries) = node.content else { throw ASN1Error.invalidASN1Object(reason: "bad revokedCertificates") }
                    serialNumbers = try entries.map { entry in
                        try DER.sequence(entry, identifier: .sequence) { parts in
                            guard let serial = parts.next(), serial.identifier == .integer, case .primitive(let bytes) = serial.content else {
                                throw ASN1Error.invalidASN1Object(reason: "revoked entry without a serial number")
                            }
                            while parts.next() != nil {}
                            return bytes
                        }
                    }
                    field = fields.next()
                }
                while field != nil { field = fields.next() }  // crlExtensions
            }
        }

        private static func isTime(_ node: ASN1Node) -> Bool {
            node.identifier == .utcTime || node.identifier == .generalizedTime
        }

        private static func date(_ node: ASN1Node) throws -> Date? {
            var components = DateComponents()
            components.timeZone = TimeZone(identifier: "UTC")
            if node.identifier == .utcTime {
                let time = try UTCTime(derEncoded: node)
                (components.year, components.month, components.day) = (time.year, time.month, time.day)
                (components.hour, components.minute, components.second) = (time.hours, time.minutes, time.seconds)
            } else {
                let time = try GeneralizedTime(derEncoded: node)
                (components.year, components.month, components.day) = (time.year, time.month, time.day)
                (components.hour, components.minute, components.second) = (time.hours, time.minutes, time.seconds)
            }
            return Calendar(identifier: .gregorian).date(from: components)
        }
    }
}

/// A CRL file that cannot be used; the message says why.
public struct CRLError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
