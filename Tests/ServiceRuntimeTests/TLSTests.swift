import TestSupport
import Foundation
import Logging
import NIOCore
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

@Suite("Mutual TLS")
struct TLSTests {
    @Test("calls over mutual TLS work, and the handler sees the client's certificate name")
    func mutualTLS() async throws {
        let pki = try TestPKI.make()
        defer { pki.remove() }
        var router = RPCRouter.withSystemHandlers()
        router.register(SystemMethods.echo) { _, context in
            var response = Crm_System_V1_EchoResponse()
            response.payload = Data((context.peerIdentity ?? "none").utf8)
            return response
        }
        try await withTestServer(router: router, configuration: .init(port: 0, tls: pki.server)) { _, port in
            let connection = try await RPCConnection.connect(
                host: "127.0.0.1", port: port, options: .init(tls: pki.client))
            let echo = try await connection.unary(SystemMethods.echo, echoRequest(""))
            #expect(String(decoding: echo.payload, as: UTF8.self) == "client")
            await connection.close()
        }
    }

    @Test("a server whose certificate file is missing fails run() with the error and is released without trapping; so is one never run")
    func startErrorIsAnError() async throws {
        let tls = TLSSettings(certificateChainPath: "/nonexistent/server.pem", privateKeyPath: "/nonexistent/server.key", trustRootsPath: "/nonexistent/ca.pem")
        var server: RPCServer? = RPCServer(configuration: .init(port: 0, tls: tls), router: RPCRouter(), logger: .init(label: "test"))
        await #expect(throws: (any Error).self) { try await server!.run() }
        await #expect(throws: (any Error).self) { _ = try await server!.boundAddress() }
        server = nil
        // Made and dropped, as when another service of the group fails to start first.
        _ = RPCServer(configuration: .init(port: 0), router: RPCRouter(), logger: .init(label: "test"))
    }

    @Test("a client certificate from another CA is refused")
    func otherCA() async throws {
        let pki = try TestPKI.make()
        defer { pki.remove() }
        _ = try await withTestServer(configuration: .init(port: 0, tls: pki.server)) { _, port in
            // With TLS 1.3 the refusal may arrive after connect, so assert on the first exchange.
            await #expect(throws: (any Error).self) {
                let connection = try await RPCConnection.connect(host: "127.0.0.1", port: port, options: .init(tls: pki.stranger))
                _ = try await connection.unary(SystemMethods.echo, echoRequest("x"), timeout: .seconds(5))
            }
        }
    }

    @Test("a plain-text client on the TLS port is refused")
    func plainTextOnTLSPort() async throws {
        let pki = try TestPKI.make()
        defer { pki.remove() }
        try await withTestServer(configuration: .init(port: 0, tls: pki.server)) { _, port in
            let peer = try await RawClient.connect(port: port)
            // A plain-text client on a TLS port: the server's TLS layer refuses and closes.
            try await peer.send(WireFormat.preface)
            #expect(await peer.closedByServer(within: 5))
        }
    }

    @Test("the client refuses a server whose certificate its CA did not sign")
    func clientChecksServer() async throws {
        let pki = try TestPKI.make()
        defer { pki.remove() }
        var settings = pki.client
        settings.trustRootsPath = pki.path("other-ca.pem")
        let wrongTrust = settings
        _ = try await withTestServer(configuration: .init(port: 0, tls: pki.server)) { _, port in
            await #expect(throws: (any Error).self) {
                let connection = try await RPCConnection.connect(host: "127.0.0.1", port: port, options: .init(tls: wrongTrust))
                _ = try await connection.unary(SystemMethods.echo, echoRequest("x"), timeout: .seconds(5))
            }
        }
    }
}
