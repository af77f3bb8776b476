import Foundation
import ServiceRuntime

/// A throw-away PKI made with openssl: a CA, a server certificate for 127.0.0.1/localhost, a client
/// certificate, and a second CA with a client certificate the first CA does not trust.
struct TestPKI: Sendable {
    let directory: URL

    static func make() throws -> TestPKI {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = """
            set -e
            ca() { openssl ecparam -name prime256v1 -genkey -noout -out $1.key
                   openssl req -x509 -new -key $1.key -sha256 -days 30 -subj "/CN=$1" -out $1.pem \\
                     -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign; }
            leaf() { openssl ecparam -name prime256v1 -genkey -noout -out $1.key
                     openssl req -new -key $1.key -subj "/CN=$1" -out $1.csr
                     printf "$3" > $1.ext
                     openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial -days 30 -sha256 \\
                       -extfile $1.ext -out $1.pem; }
            ca ca
            ca other-ca
            leaf server ca "subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\nkeyUsage=digitalSignature"
            leaf client ca "extendedKeyUsage=clientAuth\\nkeyUsage=digitalSignature"
            leaf stranger other-ca "extendedKeyUsage=clientAuth\\nkeyUsage=digitalSignature"
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "openssl failed"])
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
