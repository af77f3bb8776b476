internal import Foundation
internal import NIOCore
internal import NIOPosix
internal import NIOSSL

/// What a server checks before it opens its database, so that a start error is one line naming
/// the key and the file, folder or port at fault, and the database is not touched (no migration
/// runs) when the server could not serve anyway. `--check-config` runs the same checks.
public enum StartChecks {
    /// A start problem outside the configuration (a port another process holds): exit status 1.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// Loads each TLS file on its own (naming the first that fails) and then builds the context
    /// they make together (a key that does not match its certificate).
    public static func tls(_ settings: TLSSettings, keys prefix: String, server: Bool) throws(ConfigurationError) {
        let certificate = "\(prefix).certificate"
        let key = "\(prefix).key"
        let ca = "\(prefix).ca"
        try readable(settings.certificateChainPath, key: certificate)
        try readable(settings.privateKeyPath, key: key)
        try readable(settings.trustRootsPath, key: ca)
        guard (try? NIOSSLCertificate.fromPEMFile(settings.certificateChainPath))?.isEmpty == false else {
            throw ConfigurationError(key: certificate, message: "\(settings.certificateChainPath) holds no PEM certificate")
        }
        do {
            _ = try NIOSSLPrivateKey(file: settings.privateKeyPath, format: .pem)
        } catch {
            throw ConfigurationError(key: key, message: "\(settings.privateKeyPath) holds no unencrypted PEM private key")
        }
        guard (try? NIOSSLCertificate.fromPEMFile(settings.trustRootsPath))?.isEmpty == false else {
            throw ConfigurationError(key: ca, message: "\(settings.trustRootsPath) holds no PEM certificate")
        }
        do {
            _ = try NIOSSLContext(configuration: server ? settings.makeServerConfiguration() : settings.makeClientConfiguration())
        } catch {
            throw ConfigurationError(
                key: key, message: "\(settings.privateKeyPath) and \(settings.certificateChainPath) do not make a TLS identity (\(error))")
        }
    }

    /// Nobody listens on `host:port` (port 0 always binds). The listener binds again a moment later
    /// with SO_REUSEADDR, so this probe's closed socket does not stand in its way.
    public static func portFree(host: String, port: Int, key: String) async throws(Failure) {
        guard port != 0 else { return }
        do {
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port).get()
            try? await channel.close()
        } catch {
            throw Failure("\(key): cannot listen on \(host):\(port): \(describe(error))")
        }
    }

    /// `Address already in use` rather than NIO's whole error text.
    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        return "\(error)"
    }

    private static func readable(_ path: String, key: String) throws(ConfigurationError) {
        guard access(path, R_OK) == 0 else {
            throw ConfigurationError(key: key, message: "cannot read \(path): \(String(cString: strerror(errno)))")
        }
    }
}
