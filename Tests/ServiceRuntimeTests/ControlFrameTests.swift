import TestSupport
import Foundation
import NIOCore
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// Connection-level frames over a real loopback socket: the server answers pings and refuses calls
/// beyond the negotiated concurrency limit (the state machine tests check the same transitions
/// without a socket).
@Suite("Control frames on loopback")
struct ControlFrameTests {
    @Test("a PING is answered with a PONG carrying the same value", arguments: Transport.allCases)
    func pingAnswered(transport: Transport) async throws {
        try await withTestServer(transport: transport) { _, port in
            let peer = try await RawClient.connect(port: port, transport: transport)
            try await peer.sendFrames([.hello(Hello())], preface: true)
            try await peer.sendFrames([.ping(0xDEAD_BEEF_0BAD_F00D)])
            #expect(await eventually(seconds: 30) { (try? peer.frames().contains { $0.type == .pong }) == true })
            let pong = try #require(try peer.frames().first { $0.type == .pong })
            #expect(try PingPayload(payload: pong.payload).value == 0xDEAD_BEEF_0BAD_F00D)
            await peer.close()
        }
    }

    @Test("a call beyond the negotiated limit is refused with TOO_MANY_STREAMS; the open ones still finish", arguments: Transport.allCases)
    func tooManyStreams(transport: Transport) async throws {
        var router = RPCRouter()
        router.register(SystemMethods.echo) { request, _ in
            try await Task.sleep(for: .milliseconds(500))
            var response = Crm_System_V1_EchoResponse()
            response.payload = request.payload
            return response
        }
        try await withTestServer(router: router, configuration: .init(port: 0, hello: Hello(maxConcurrentStreams: 2)), transport: transport) { _, port in
            let peer = try await RawClient.connect(port: port, transport: transport)
            try await peer.sendFrames([.hello(Hello())], preface: true)
            let payload = try echoRequest("x").encodedPayload()
            try await peer.sendFrames([1, 3, 5].map { Frame.request(streamID: $0, method: SystemMethods.echo.id, payload: payload) })
            // A generous bound: the answers take half a second, but the whole suite shares two
            // cores with CI's other work (one CI run needed more than 5 s).
            #expect(await eventually(seconds: 30) { (try? peer.frames().filter { $0.streamID != 0 }.count) == 3 })
            let answers = try peer.frames().filter { $0.streamID != 0 }
            let refused = try #require(answers.first { $0.streamID == 5 })
            #expect(refused.type == .error)
            let error = try RPCError(payload: refused.payload)
            #expect(error.reason == "TOO_MANY_STREAMS")
            #expect(error.code == .resourceExhausted)
            #expect(error.processing == .notProcessed)
            #expect(answers.filter { $0.streamID != 5 }.allSatisfy { $0.type == .response })
            await peer.close()
        }
    }
}
