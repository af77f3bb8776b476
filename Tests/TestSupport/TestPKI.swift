public import Foundation
public import ServiceRuntime
public import RPCTransport

/// A throw-away PKI made by scripts/dev-pki.sh in a temporary folder (the script lists what it
/// holds): a CA, a server certificate for 127.0.0.1/localhost, client certificates good and bad,
/// a CRL, and the internal CA between the gateway and the services.
public struct TestPKI: Sendable {
    public let directory: URL

    public static func make() throws -> TestPKI {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/dev-pki.sh")
        let process = try ChildProcess(
            executable: "/bin/bash", arguments: [script.path, directory.path], environment: ProcessInfo.processInfo.environment)
        guard process.waitUntilExit() == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "scripts/dev-pki.sh failed"])
        }
        return TestPKI(directory: directory)
    }

    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    public var server: TLSSettings {
        TLSSettings(certificateChainPath: path("server.pem"), privateKeyPath: path("server.key"), trustRootsPath: path("ca.pem"))
    }

    public var client: TLSSettings {
        TLSSettings(certificateChainPath: path("client.pem"), privateKeyPath: path("client.key"), trustRootsPath: path("ca.pem"))
    }

    /// A client whose certificate comes from a CA the server does not trust.
    public var stranger: TLSSettings {
        TLSSettings(certificateChainPath: path("stranger.pem"), privateKeyPath: path("stranger.key"), trustRootsPath: path("ca.pem"))
    }

    /// The client certificate `name.pem`/`name.key` of this PKI, trusting the CA that signed the server.
    public func clientCertificate(_ name: String) -> TLSSettings {
        TLSSettings(certificateChainPath: path("\(name).pem"), privateKeyPath: path("\(name).key"), trustRootsPath: path("ca.pem"))
    }

    public func remove() { try? FileManager.default.removeItem(at: directory) }
}
