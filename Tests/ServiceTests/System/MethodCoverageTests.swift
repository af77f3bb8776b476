import CRMClient
import Foundation
import NIOCore
import ServiceRuntime
import TestSupport
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

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

    @Test("the generated typed clients call each service through the gateway: unary with its descriptor, a server stream, and a refusal as an RPCError")
    func typedClients() async throws {
        let system = try await CRMSystem.start()
        let client = CRMClient(
            configuration: RPCClient.Configuration(
                host: "127.0.0.1", port: system.ports[.gateway]!,
                options: .init(tls: system.pki.clientCertificate("client"), serverHostname: "localhost", connectTimeout: TestTimeouts.connect)))
        var create = Crm_Customer_V1_CreateCustomerRequest()
        create.profile = Profiles.individual()
        let created = try await client.customer.create(create, timeout: TestTimeouts.call)
        var get = Crm_Customer_V1_GetCustomerRequest()
        get.id = created.customer.id
        #expect(try await client.customer.get(get, timeout: TestTimeouts.call).customer.id == created.customer.id)
        #expect(try await client.system.health(timeout: TestTimeouts.call).status == .serving)
        _ = try await client.feed.status(timeout: TestTimeouts.call)
        var queue = Crm_Servicedesk_V1_ListCasesRequest()
        queue.queue = "complaints"
        #expect(try await client.serviceDesk.listCases(queue, timeout: TestTimeouts.call).cases.isEmpty)
        var pipeline = Crm_Marketing_V1_ListOpportunitiesRequest()
        pipeline.ownerRmID = "nobody"
        #expect(try await client.marketing.listOpportunities(pipeline, timeout: TestTimeouts.call).opportunities.isEmpty)
        var echo = Crm_System_V1_EchoStreamRequest()
        echo.count = 3
        var items = 0
        for try await _ in try await client.system.echoStream(echo, timeout: TestTimeouts.call) { items += 1 }
        #expect(items == 3)
        await #expect(throws: RPCError.self) { try await client.customer.getView(timeout: TestTimeouts.call) }
        await client.close()
        await system.expectCleanShutdown()
    }
}
