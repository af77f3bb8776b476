import TestSupport
import Foundation
import NIOCore
import NIOPosix
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

@Suite("Hostile peers")
struct HostileInputTests {
    @Test("a frame declaring 2^31 bytes, then a slow trickle, is refused at once with FRAME_TOO_LARGE", arguments: Transport.allCases)
    func hugeFrameTrickle(transport: Transport) async throws {
        try await withTestServer(transport: transport) { server, port in
            let peer = try await RawClient.connect(port: port, transport: transport)
            try await peer.sendFrames([.hello(Hello())], preface: true)
            try await peer.send([0x80, 0x00, 0x00, 0x00])
            for _ in 0..<5 {
                if !peer.channel.isActive { break }
                try? await peer.send([0x41])
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(await peer.closedByServer(within: 2))
            let frames = try peer.frames()
            #expect(frames.first?.type == .helloAck)
            let error = try #require(frames.last.flatMap { try? RPCError(payload: $0.payload) })
            #expect(error.reason == "FRAME_TOO_LARGE")
            #expect(await eventually { server.connectionCount == 0 })
        }
    }

    @Test("a wrong preface gets BAD_PREFACE and a close", arguments: Transport.allCases)
    func badPreface(transport: Transport) async throws {
        try await withTestServer(transport: transport) { _, port in
            let peer = try await RawClient.connect(port: port, transport: transport)
            try await peer.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(await peer.closedByServer(within: 2))
            let error = try #require(try peer.frames().first.flatMap { try? RPCError(payload: $0.payload) })
            #expect(error.reason == "BAD_PREFACE")
        }
    }

    @Test("a client speaking only version 2 is told the supported range", arguments: Transport.allCases)
    func unsupportedVersion(transport: Transport) async throws {
        try await withTestServer(transport: transport) { _, port in
            let peer = try await RawClient.connect(port: port, transport: transport)
            try await peer.sendFrames([.hello(Hello(minVersion: 2, maxVersion: 3))], preface: true)
            #expect(await peer.closedByServer(within: 2))
            let error = try #require(try peer.frames().first.flatMap { try? RPCError(payload: $0.payload) })
            #expect(error.reason == "UNSUPPORTED_VERSION")
            #expect(error.supportedVersions == 1...1)
        }
    }

    @Test("no HELLO within the handshake timeout closes the connection", arguments: Transport.allCases)
    func handshakeTimeout(transport: Transport) async throws {
        // Over TLS the timer starts at accept, and a server that has not finished the TLS handshake
        // when it fires closes without a frame (nobody to tell). On a machine loaded by the rest of
        // the suite 300 ms and then 1 s were sometimes not enough for the handshake; with TLS 1.3
        // the client's connect succeeds before the server's side is done, so such a connection
        // looks like any other until it is closed without a frame. That is right, but not what is
        // checked here: try again, up to three times; one of them must get HANDSHAKE_TIMEOUT.
        try await withTestServer(configuration: .init(port: 0, handshakeTimeout: .seconds(2)), transport: transport) { _, port in
            var answers: [String] = []
            for _ in 1...3 {
                guard let peer = try? await RawClient.connect(port: port, transport: transport) else {
                    answers.append("connect failed")
                    continue
                }
                // On a loaded machine the timeout may fire before the preface goes out; the
                // server closing either way is what is checked.
                try? await peer.send(WireFormat.preface)
                #expect(await peer.closedByServer(within: 10))
                guard let error = try peer.frames().first.flatMap({ try? RPCError(payload: $0.payload) }) else {
                    answers.append("closed without a frame")
                    continue
                }
                answers.append(error.reason)
                break
            }
            #expect(answers.last == "HANDSHAKE_TIMEOUT", "\(answers)")
        }
    }

    @Test("an idle connection is closed with GOAWAY after the idle timeout", arguments: Transport.allCases)
    func idleTimeout(transport: Transport) async throws {
        try await withTestServer(configuration: .init(port: 0, idleTimeout: .milliseconds(300)), transport: transport) { _, port in
            let peer = try await RawClient.connect(port: port, transport: transport)
            try await peer.sendFrames([.hello(Hello())], preface: true)
            #expect(await peer.closedByServer(within: 3))
            #expect(try peer.frames().last?.type == .goAway)
        }
    }

    @Test("a peer that vanishes mid-frame frees its connection", arguments: Transport.allCases)
    func vanishingPeer(transport: Transport) async throws {
        try await withTestServer(transport: transport) { server, port in
            for _ in 0..<20 {
                let peer = try await RawClient.connect(port: port, transport: transport)
                var buffer = ByteBuffer()
                FrameEncoder.writePreface(into: &buffer)
                try FrameEncoder().encode(.hello(Hello()), into: &buffer)
                try FrameEncoder(peerMaxFrameSize: 1 << 20).encode(
                    .request(streamID: 1, method: SystemMethods.echo.id, payload: ByteBuffer(repeating: 7, count: 1000)), into: &buffer)
                try await peer.send(Array(buffer.readableBytesView.prefix(buffer.readableBytes - 500)))
                await peer.close()
            }
            #expect(await eventually { server.connectionCount == 0 }, "\(server.connectionCount) connections left open")
        }
    }

    // One transport after the other: two floods at once took most of the two cores from the rest
    // of the suite running beside them.
    @Test("10,000 connections sending random garbage leave the server serving normal calls", .serialized, arguments: Transport.allCases)
    func garbageConnections(transport: Transport) async throws {
        let count = Int(ProcessInfo.processInfo.environment["CRM_GARBAGE_CONNECTIONS"] ?? "") ?? 10_000
        // The flood gets event loops of its own: on the shared ones it starved the other tests of
        // this process running beside it (their handshakes timed out) on a loaded CI machine.
        let flood = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        do {
            try await garbage(count: count, transport: transport, group: flood)
        } catch {
            try? await flood.shutdownGracefully()
            throw error
        }
        try await flood.shutdownGracefully()
    }

    private func garbage(count: Int, transport: Transport, group flood: MultiThreadedEventLoopGroup) async throws {
        try await withTestServer(transport: transport, group: flood) { server, port in
            let normal = try await transport.connect(port: port, options: .init(keepaliveInterval: nil))
            var rng = SystemRandomNumberGenerator()
            try await withThrowingTaskGroup(of: Void.self) { group in
                var launched = 0
                // 64 hostile connections at a time, each with 1 to 256 random bytes (half of them
                // after a valid preface), interleaved with normal calls that must keep succeeding.
                // On the TLS port most send their garbage where a scanner would, in place of a TLS
                // handshake; every 16th completes mutual TLS first and sends it inside.
                while launched < count {
                    for _ in 0..<64 where launched < count {
                        launched += 1
                        let withPreface = launched % 2 == 0
                        let garbage = (0..<Int.random(in: 1...256, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                        let peerTransport: Transport = launched % 16 == 0 ? transport : .plain
                        group.addTask {
                            let peer = try await RawClient.connect(port: port, transport: peerTransport, group: flood)
                            try? await peer.send((withPreface ? WireFormat.preface : []) + garbage)
                            try? await Task.sleep(for: .milliseconds(5))
                            await peer.close()
                        }
                    }
                    try await group.waitForAll()
                    if launched % 1024 == 0 {
                        let echo = try await normal.unary(SystemMethods.echo, echoRequest("ok \(launched)"), timeout: .seconds(5))
                        #expect(echo.payload == Data("ok \(launched)".utf8))
                    }
                }
            }
            let echo = try await normal.unary(SystemMethods.echo, echoRequest("still serving"), timeout: .seconds(5))
            #expect(echo.payload == Data("still serving".utf8))
            #expect(await eventually(seconds: 10) { server.connectionCount == 1 }, "\(server.connectionCount) connections open")
            await normal.close()
        }
    }

    @Test("a client that sends requests but never reads stops being read: the server's buffers stay bounded", arguments: Transport.allCases)
    func clientThatNeverReads(transport: Transport) async throws {
        var router = RPCRouter.withSystemHandlers()
        let answered = Recorder(0)
        router.register(SystemMethods.echo) { request, _ in
            answered.update { $0 += 1 }
            var response = Crm_System_V1_EchoResponse()
            response.payload = request.payload
            return response
        }
        try await withTestServer(router: router, transport: transport) { server, port in
            let peer = try await RawClient.connect(port: port, transport: transport)
            // Do not read: stop the raw client's channel from reading (autoRead off).
            try await peer.channel.setOption(.autoRead, value: false).get()
            try await peer.sendFrames([.hello(Hello())], preface: true)
            // 256 KiB echo requests, 400 of them (100 MiB of answers), written without reading anything.
            var request = Crm_System_V1_EchoRequest()
            request.payload = Data(repeating: 0x5A, count: 256 * 1024)
            let payload = try request.encodedPayload()
            var sent = 0
            for stream in stride(from: UInt32(1), through: 400, by: 1) {
                let frame = Frame.request(streamID: stream, method: SystemMethods.echo.id, payload: payload)
                var buffer = ByteBuffer()
                try FrameEncoder(peerMaxFrameSize: 1 << 20).encode(frame, into: &buffer)
                // The server stops reading once its outbound buffer is full, so these writes stall;
                // do not wait on them, just count what TCP accepted.
                peer.channel.writeAndFlush(buffer, promise: nil)
                sent += 1
            }
            try await Task.sleep(for: .seconds(1))
            // A normal client is still served promptly.
            let normal = try await transport.connect(port: port)
            let echo = try await normal.unary(SystemMethods.echo, echoRequest("fine"), timeout: .seconds(5))
            #expect(echo.payload == Data("fine".utf8))
            await normal.close()
            #expect(sent == 400)
            // Kernel socket buffers on loopback hold a few MiB and the server's outbound buffer at most
            // its 1 MiB high-water mark plus one answer: far fewer than 400 answers fit.
            #expect(answered.value > 0, "the requests never reached the server")
            #expect(answered.value < 100, "the server answered \(answered.value) calls to a peer that reads nothing")
            await peer.close()
            #expect(await eventually { server.connectionCount == 0 })
        }
    }
}
