import Foundation
import Gateway
import NIOCore
import ServiceRuntime
import Testing
import TestSupport
import WireProtocol
import SwiftASN1
import X509
internal import RPCTransport
internal import CRMAPI

/// The gateway's configuration, policies, rate buckets and CRLs as values, without sockets.
@Suite("Gateway configuration")
struct GatewayConfigTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test("the example configurations load", arguments: ["deploy/config/gateway.json", "deploy/dev/gateway.json"])
    func examples(path: String) async throws {
        let settings = try await GatewaySettings.load(file: Self.root.appendingPathComponent(path).path, environment: [:])
        #expect(settings.server.server.tls?.requireClientCertificate == true)
        #expect(!settings.backends.isEmpty)
        #expect(!settings.callers.callers.isEmpty)
    }

    static func error(_ json: String) async -> ConfigurationError? {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gw-\(UUID().uuidString).json").path
        try? Data(json.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try await GatewaySettings.load(file: path, environment: [:])
            return nil
        } catch {
            return error
        }
    }

    static let tls = #""tls": {"certificate": "s.pem", "key": "s.key", "ca": "ca.pem"}"#
    static let backends = #""backends": [{"name": "customer", "services": [2], "instances": ["127.0.0.1:7101"]}]"#
    static let callers = #""callers": [{"identity": "client", "name": "a", "role": "r", "allow": ["Customer.*"]}]"#

    @Test("each mistake is named by its key", arguments: [
        (#"{\#(backends), \#(callers)}"#, "tls.certificate"),
        (#"{\#(tls), \#(callers)}"#, "backends"),
        (#"{\#(tls), \#(backends)}"#, "callers"),
        (#"{\#(tls), \#(backends), \#(callers), "database": {"path": "x"}}"#, "database.path"),
        (#"{\#(tls), \#(backends), \#(callers), "handlers": {"on_event_loop": true}}"#, "handlers.on_event_loop"),
        (#"{\#(tls), \#(backends), \#(callers), "health": {"connect_timeout_ms": 0}}"#, "health.connect_timeout_ms"),
        (#"{\#(tls), "backends": [{"name": "c", "services": [2], "instances": ["nohost"]}], \#(callers)}"#, "backends[0].instances"),
        (#"{\#(tls), "backends": [{"name": "c", "services": [2], "instances": ["h:1"]}, {"name": "d", "services": [2], "instances": ["h:2"]}], \#(callers)}"#, "backends[1].services"),
        (#"{\#(tls), \#(backends), "callers": [{"identity": "client", "name": "a", "role": "r", "allow": ["Custmer.*"]}]}"#, "callers[0].allow"),
        (#"{\#(tls), \#(backends), "callers": [{"identity": "client", "name": "a", "role": "r", "allow": [], "rate": 5}]}"#, "callers[0].rate"),
        (#"{\#(tls), \#(backends), "callers": [{"identity": "x", "name": "a", "role": "r", "allow": []}, {"identity": "x", "name": "b", "role": "r", "allow": []}]}"#, "callers"),
        (#"{\#(tls), \#(backends), \#(callers), "roles": ["r"]}"#, "roles"),
        (#"{\#(tls), \#(backends), \#(callers), "roles": {"r": {"mail": "clear"}}}"#, "roles.r.mail"),
        (#"{\#(tls), \#(backends), \#(callers), "roles": {"r": {"email": "hidden"}}}"#, "roles.r.email"),
        (#"{\#(tls), \#(backends), \#(callers), "roles": {"r": "clear"}}"#, "roles.r"),
    ])
    func mistakes(json: String, key: String) async {
        let error = await Self.error(json)
        #expect(error?.key == key, "\(String(describing: error))")
    }

    @Test("roles give each caller its masking: a configured role as written (unnamed fields withheld), a built-in one in clear, any other restricted")
    func roles() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gw-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let callers = #""callers": [{"identity": "a", "name": "a", "role": "reporting", "allow": []}, {"identity": "b", "name": "b", "role": "kyc", "allow": []}, {"identity": "c", "name": "c", "role": "marketing", "allow": []}]"#
        try Data(#"{\#(Self.tls), \#(Self.backends), \#(callers), "roles": {"reporting": {"name": "partial", "phone": "clear"}}}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        let policies = try await GatewaySettings.load(file: path, environment: [:]).callers
        let reporting = try #require(policies.policy(named: "a")).masking
        #expect(reporting.encoded == "name=partial,birth_date=withheld,document=withheld,phone=clear,email=withheld,address=withheld")
        #expect(policies.policy(named: "b")?.masking == .clear)
        #expect(policies.policy(named: "c")?.masking == .restricted)
    }

    @Test("the backend connect timeout defaults to 3 s and is set by health.connect_timeout_ms")
    func backendConnectTimeout() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gw-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(#"{\#(Self.tls), \#(Self.backends), \#(Self.callers)}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(try await GatewaySettings.load(file: path, environment: [:]).backendConnectTimeout == .seconds(3))
        try Data(#"{\#(Self.tls), \#(Self.backends), \#(Self.callers), "health": {"connect_timeout_ms": 20000}}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        #expect(try await GatewaySettings.load(file: path, environment: [:]).backendConnectTimeout == .seconds(20))
    }

    @Test("method patterns match by service and method; unknown names are refused")
    func patterns() throws {
        let get = try #require(MethodRegistry.method(named: "Customer.Get"))
        let subscribe = try #require(MethodRegistry.method(named: "Feed.Subscribe"))
        #expect(try MethodPattern("*").matches(get))
        #expect(try MethodPattern("Customer.*").matches(get))
        #expect(try !MethodPattern("Customer.*").matches(subscribe))
        #expect(try MethodPattern("Customer.Get").matches(get))
        #expect(try !MethodPattern("Customer.Search").matches(get))
        #expect(throws: PolicyError.self) { try MethodPattern("Customer.Gett") }
        #expect(throws: PolicyError.self) { try MethodPattern("Nothing.*") }
    }

    @Test("a token bucket allows its burst, then its rate, and says how long to wait")
    func tokenBucket() {
        var bucket = TokenBucket(ratePerSecond: 10, burst: 3, now: .zero)
        for _ in 0..<3 { #expect(bucket.take(now: .zero) == .allowed) }
        #expect(bucket.take(now: .zero) == .refused(retryAfterMilliseconds: 100))
        #expect(bucket.take(now: .milliseconds(50)) == .refused(retryAfterMilliseconds: 50))
        #expect(bucket.take(now: .milliseconds(100)) == .allowed)
        // Never more than the burst, however long it was idle.
        for _ in 0..<3 { #expect(bucket.take(now: .seconds(60)) == .allowed) }
        #expect(bucket.take(now: .seconds(60)) != .allowed)
    }

    @Test("the CRL openssl made lists the revoked certificate and no other")
    func revocationList() throws {
        let pki = GatewayHarness.pki
        let lists = try RevocationList.load(file: pki.path("ca.crl"), authorities: [try Self.certificate(pki.path("ca.pem"))])
        #expect(lists.count == 1)
        #expect(lists[0].revokedCount == 1)
        #expect(lists[0].isRevoked(serialNumber: try Self.serial(pki.path("revoked.pem"))))
        #expect(!lists[0].isRevoked(serialNumber: try Self.serial(pki.path("client.pem"))))
        #expect(lists[0].nextUpdate.map { $0 > Date() } == true)
    }

    @Test("a CRL from another CA, or one whose bytes were changed, is refused")
    func untrustedRevocationList() throws {
        let pki = GatewayHarness.pki
        #expect(throws: CRLError.self) {
            try RevocationList.load(file: pki.path("ca.crl"), authorities: [try Self.certificate(pki.path("other-ca.pem"))])
        }
        var der = try Self.der(pki.path("ca.crl"))
        // Flip a bit inside the revoked serial number: the signature no longer verifies.
        let serial = try Self.serial(pki.path("revoked.pem"))
        let at = try #require(der.firstRange(of: serial.suffix(4))).lowerBound
        der[at] ^= 0x01
        #expect(throws: CRLError.self) { try RevocationList(der: der, authorities: [try Self.certificate(pki.path("ca.pem"))]) }
    }

    @Test("CRL checking needs a CRL in force for every client CA: one missing or past its next update is refused, naming the CA")
    func revocationCoverage() throws {
        let pki = GatewayHarness.pki
        let ca = try Self.certificate(pki.path("ca.pem"))
        let other = try Self.certificate(pki.path("other-ca.pem"))
        let lists = try RevocationList.load(file: pki.path("ca.crl"), authorities: [ca])
        try RevocationList.checkCoverage(lists, authorities: [ca])
        #expect {
            try RevocationList.checkCoverage(lists, authorities: [ca, other])
        } throws: { "\($0)".contains("no CRL for the client CA CN=other-ca") }
        let nextUpdate = try #require(lists[0].nextUpdate)
        #expect {
            try RevocationList.checkCoverage(lists, authorities: [ca], now: nextUpdate.addingTimeInterval(1))
        } throws: { "\($0)".contains("the CRL of CN=ca is past its next update") }
    }

    static func der(_ pemPath: String) throws -> [UInt8] {
        let text = try String(contentsOfFile: pemPath, encoding: .utf8)
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return Array(try #require(Data(base64Encoded: body)))
    }

    static func certificate(_ path: String) throws -> X509.Certificate {
        try X509.Certificate(derEncoded: der(path))
    }

    static func serial(_ path: String) throws -> [UInt8] {
        Array(try certificate(path).serialNumber.bytes)
    }
}
