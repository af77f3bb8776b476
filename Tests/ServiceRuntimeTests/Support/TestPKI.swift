import Foundation
import ServiceRuntime

/// A throw-away PKI made by scripts/dev-pki.sh in a temporary folder: a CA, a server certificate for
/// 127.0.0.1/localhost, a client certificate, and a second CA with a client the first does not trust.
struct TestPKI: Sendable {
    let directory: URL

    static func make() throws -> TestPKI {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/dev-pki.sh")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, directory.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "scripts/dev-pki.sh failed"])
        }
        return TestPKI(directory: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    var server: TLSSettings {
        TLSSettings(certificateChainPath: path("server.pem"), privateKeyPath: path("server.key"), trustRootsPath: path("ca.pem"))
    }

    var client: TLSSettings {
        TLSSettings(certificateChainPath: path("client.pem"), privateKeyPath: path("client.key"), trustRootsPath: path("ca.pem"))
    }

    /// A client whose certificate comes from a CA the server does not trust.
    var stranger: TLSSettings {
        TLSSettings(certificateChainPath: path("stranger.pem"), privateKeyPath: path("stranger.key"), trustRootsPath: path("ca.pem"))
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}
