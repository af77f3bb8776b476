import Foundation
import NIOCore
import ServiceRuntime
import TestSupport
import Testing
import WireProtocol

/// Every rpc in Protos/ is answered by the server of its service: a method in the registry without a
/// handler would be UNIMPLEMENTED, and nothing else notices.
@Suite("Method coverage", .serialized)
struct MethodCoverageTests {
    @Test("every method of services 1 to 5 reaches a handler through the gateway (an empty request gets anything but UNIMPLEMENTED)")
    func everyMethodAnswered() async throws {
        let system = try await CRMSystem.start()
        let options = RPCConnection.Options(
            tls: system.pki.clientCertificate("client"), serverHostname: "localhost", connectTimeout: TestTimeouts.connect)
        let connection = try await RPCConnection.connect(host: "127.0.0.1", port: system.ports[.gateway]!, options: options)
        var answered = 0
        for method in MethodRegistry.all {
            var refusal: RPCError?
            do {
                switch method.kind {
                case .unary:
                    _ = try await connection.call(method: method.id, payload: ByteBuffer(), timeout: TestTimeouts.call)
                case .serverStream:
                    // The first item or the end is enough; a subscription that would run on is cut by the timeout.
                    let stream = connection.serverStream(method: method.id, payload: ByteBuffer(), timeout: .seconds(1))
                    for try await _ in stream { break }
                }
            } catch let error as RPCError {
                refusal = error
            }
            #expect(refusal?.code != .unimplemented, "\(method.name): \(refusal.map { "\($0)" } ?? "")")
            answered += 1
        }
        #expect(answered == MethodRegistry.all.count)
        #expect(MethodRegistry.all.count > 90, "the registry holds the generated services")
        await connection.close()
        await system.expectCleanShutdown()
    }
}
