public import NIOSSL

/// TLS files and policy for a listener or a client, set explicitly rather than inheriting
/// NIOSSL's defaults (which allow TLS 1.0, RSA key exchange and CBC, and trust the system store).
public struct TLSSettings: Sendable, Hashable {
    /// PEM file with our certificate, then its intermediates.
    public var certificateChainPath: String
    public var privateKeyPath: String
    /// PEM file with the CA(s) that peer certificates must chain to. Nothing else is trusted.
    public var trustRootsPath: String
    /// Servers: require and verify a client certificate (mutual TLS).
    public var requireClientCertificate: Bool

    public init(certificateChainPath: String, privateKeyPath: String, trustRootsPath: String, requireClientCertificate: Bool = true) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.trustRootsPath = trustRootsPath
        self.requireClientCertificate = requireClientCertificate
    }

    /// ECDHE key exchange with AEAD ciphers only, for TLS 1.2. TLS 1.3 suites are all AEAD.
    public static let tls12CipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    public func makeServerConfiguration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificateChainPath).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)))
        applyPolicy(to: &configuration)
        // Client certificates carry no host name to check; the CA and the policy decide.
        configuration.certificateVerification = requireClientCertificate ? .noHostnameVerification : .none
        return configuration
    }

    public func makeClientConfiguration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateChainPath).map { .certificate($0) }
        configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: privateKeyPath, format: .pem))
        applyPolicy(to: &configuration)
        configuration.certificateVerification = .fullVerification
        return configuration
    }

    private func applyPolicy(to configuration: inout TLSConfiguration) {
        configuration.minimumTLSVersion = .tlsv12
        configuration.cipherSuiteValues = Self.tls12CipherSuites
        configuration.trustRoots = .file(trustRootsPath)
        configuration.renegotiationSupport = .none
    }
}
