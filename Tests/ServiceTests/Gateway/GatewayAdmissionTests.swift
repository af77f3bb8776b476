import Foundation
import Gateway
import NIOCore
import NIOPosix
import NIOSSL
import ServiceRuntime
import Testing
import TestSupport
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// Who gets in: the certificate matrix (refused in the TLS handshake or at HELLO), the caller
/// policy matrix, identity spoofing, the rate limit and the per-caller connection limit.
@Suite("Gateway admission")
struct GatewayAdmissionTests {
    @Test(
        "certificates the gateway must refuse are refused before any call",
        arguments: ["expired", "not-yet-valid", "stranger", "server-only", "revoked"])
    func refusedCertificate(name: String) async throws {
        try await GatewayHarness.withGateway { gateway in
            await #expect(throws: (any Error).self) {
                let connection = try await gateway.connect(as: name)
                // Over TLS 1.3 a refusal can arrive after connect returns: the first call must fail.
                _ = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest(), timeout: .seconds(5))
            }
            // The same gateway still serves a valid caller.
            let connection = try await gateway.connect()
            let response = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest())
            #expect(response.customer.id.hasPrefix("b1|core-banking|servicing"))
            await connection.closeNow()
        }
    }

    @Test("a revoked certificate is refused inside the TLS handshake with the certificate_revoked alert, on TLS 1.2 and 1.3", arguments: ["-tls1_2", "-tls1_3"])
    func revokedAlert(version: String) async throws {
        try await GatewayHarness.withGateway { gateway in
            let pki = gateway.pki
            // s_client sends its input after the handshake and, with -ign_eof, reads until the gateway
            // closes: over TLS 1.3 the alert comes after the client finished its side of the handshake.
            let result = try await Executables.run(
                "/usr/bin/openssl",
                ["s_client", "-connect", "127.0.0.1:\(gateway.port)", version, "-cert", pki.path("revoked.pem"), "-key", pki.path("revoked.key"),
                 "-CAfile", pki.path("ca.pem"), "-servername", "localhost", "-ign_eof"],
                input: "x\n")
            let output = result.stdout + result.stderr
            #expect(output.contains("alert certificate revoked") || output.contains("alert number 44"), "\(output)")
        }
    }

    @Test("a peer without a client certificate never gets a HELLO_ACK")
    func noCertificate() async throws {
        try await GatewayHarness.withGateway { gateway in
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .file(gateway.pki.path("ca.pem"))
            configuration.certificateVerification = .noHostnameVerification
            let outcome = try await HelloProbe.run(port: gateway.port, tls: configuration)
            #expect(!outcome.gotHelloAck)
            #expect(outcome.closed)
        }
    }

    @Test("the valid certificate gets in; the caller is its policy's name and role")
    func validCertificate() async throws {
        try await GatewayHarness.withGateway { gateway in
            let connection = try await gateway.connect()
            let response = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest())
            #expect(response.customer.id == "b1|core-banking|servicing|-|\(response.customer.id.split(separator: "|")[4])")
            let health = try await connection.unary(SystemMethods.health, .init())
            #expect(health.server == "crm-gateway")
            await connection.closeNow()
        }
    }

    @Test("a certificate known by its subject alternative name gets that caller's policy")
    func alternativeName() async throws {
        try await GatewayHarness.withGateway { gateway in
            let connection = try await gateway.connect(as: "san-client")
            let response = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest())
            #expect(response.customer.id.hasPrefix("b1|reporting|reporting|"))
            await connection.closeNow()
        }
    }

    @Test("an allowed method passes; a forbidden one is PERMISSION_DENIED and never reaches the backend")
    func forbiddenMethod() async throws {
        let calls = Recorder(0)
        try await GatewayHarness.withGateway(backends: [GatewayHarness.probeRouter(name: "b1", calls: calls)]) { gateway in
            let connection = try await gateway.connect(as: "san-client")
            _ = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest())
            #expect(calls.value == 1)
            let error = await #expect(throws: RPCError.self) {
                _ = try await connection.unary(CustomerMethods.search, .init())
            }
            #expect(error?.code == .permissionDenied)
            #expect(error?.reason == "METHOD_NOT_ALLOWED")
            #expect(error?.processing == .notProcessed)
            // Change feeds are internal: refused unless a policy names them.
            let feed = await #expect(throws: RPCError.self) {
                for try await _ in try connection.serverStream(FeedMethods.subscribe, .init()) {}
            }
            #expect(feed?.code == .permissionDenied)
            #expect(calls.value == 1)
            await connection.closeNow()
        }
    }

    @Test("a certificate from the trusted CA that no policy names is refused with UNAUTHENTICATED")
    func unknownCaller() async throws {
        let callers = GatewayHarness.defaultCallers.filter { $0["identity"] as? String != "client" }
        try await GatewayHarness.withGateway(callers: callers) { gateway in
            let error = await #expect(throws: RPCError.self) {
                let connection = try await gateway.connect()
                _ = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest(), timeout: .seconds(5))
            }
            #expect(error?.code == .unauthenticated)
            #expect(error?.reason == "UNKNOWN_CALLER")
        }
    }

    @Test("caller identity metadata sent by the client is replaced; the end user it reports is kept")
    func spoofedIdentity() async throws {
        try await GatewayHarness.withGateway { gateway in
            let connection = try await gateway.connect(as: "san-client")
            let spoofed = Metadata(callerSystem: "core-banking", callerRole: "compliance", endUser: "teller-17")
            let response = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest(), metadata: spoofed)
            let fields = response.customer.id.split(separator: "|").map(String.init)
            #expect(fields[1] == "reporting")
            #expect(fields[2] == "reporting")
            #expect(fields[3] == "teller-17")
            await connection.closeNow()
        }
    }

    @Test("the deadline goes on to the backend with what is left of it")
    func deadlinePropagated() async throws {
        try await GatewayHarness.withGateway { gateway in
            let connection = try await gateway.connect()
            // A generous budget, so that a loaded machine cannot spend most of it before forwarding:
            // what arrives is less than what was sent, and most of it.
            let response = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest(), timeout: .milliseconds(30_000))
            let forwarded = try #require(Int(response.customer.id.split(separator: "|")[4]))
            #expect(forwarded <= 30_000 && forwarded > 20_000)
            // A backend slower than the caller's budget: DEADLINE_EXCEEDED, not a hang.
            let error = await #expect(throws: RPCError.self) {
                _ = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest("sleep:2000"), timeout: .milliseconds(300))
            }
            #expect(error?.code == .deadlineExceeded)
            await connection.closeNow()
        }
    }

    @Test("over its rate a caller gets RESOURCE_EXHAUSTED with a retry-after, then is served again")
    func rateLimit() async throws {
        var callers = GatewayHarness.defaultCallers
        callers[0]["rate_per_second"] = 1.0
        callers[0]["burst"] = 10.0
        try await GatewayHarness.withGateway(callers: callers) { gateway in
            let connection = try await gateway.connect()
            // 30 calls at once: the burst of 10 passes, plus the tokens refilled (1 a second) while
            // they ran, however slow the machine.
            let started = ContinuousClock.now
            let outcomes = try await withThrowingTaskGroup(of: RPCError?.self) { group in
                for _ in 0..<30 {
                    group.addTask {
                        do {
                            _ = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest())
                            return nil
                        } catch let error as RPCError {
                            return error
                        }
                    }
                }
                return try await group.reduce(into: [RPCError?]()) { $0.append($1) }
            }
            let elapsed = ContinuousClock.now - started
            let served = outcomes.filter { $0 == nil }.count
            let refilled = Int(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) + 1
            #expect(served >= 10 && served <= 10 + refilled, "served \(served) in \(elapsed)")
            let refusal = try #require(outcomes.compactMap { $0 }.first)
            #expect(refusal.code == .resourceExhausted)
            #expect(refusal.reason == "RATE_LIMITED")
            #expect(refusal.processing == .notProcessed)
            let wait = try #require(refusal.retryAfterMilliseconds)
            #expect(wait > 0 && wait <= 1_000)
            try await Task.sleep(for: .milliseconds(Int(wait) + 50))
            _ = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest())
            await connection.closeNow()
        }
    }

    @Test("a caller's connections past its limit are refused; closing one frees its slot")
    func perCallerConnections() async throws {
        var callers = GatewayHarness.defaultCallers
        callers[0]["max_connections"] = 2
        try await GatewayHarness.withGateway(callers: callers) { gateway in
            let first = try await gateway.connect()
            let second = try await gateway.connect()
            let error = await #expect(throws: RPCError.self) { _ = try await gateway.connect() }
            #expect(error?.code == .resourceExhausted)
            #expect(error?.reason == "CALLER_CONNECTION_LIMIT")
            // Another caller is not affected.
            let other = try await gateway.connect(as: "san-client")
            await first.closeNow()
            #expect(await eventually { gateway.gateway.callers.openConnections(of: "core-banking") == 1 })
            let third = try await gateway.connect()
            _ = try await third.unary(CustomerMethods.get, GatewayHarness.getRequest())
            for connection in [second, third, other] { await connection.closeNow() }
        }
    }
}

/// A TLS peer that sends the preface and HELLO and reports whether a HELLO_ACK came back and
/// whether the gateway closed the connection, for clients RPCConnection cannot be (no certificate).
enum HelloProbe {
    struct Outcome {
        var gotHelloAck: Bool
        var closed: Bool
    }

    static func run(port: Int, tls: TLSConfiguration) async throws -> Outcome {
        let context = try NIOSSLContext(configuration: tls)
        let received = Recorder<[UInt8]>([])
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    try channel.pipeline.syncOperations.addHandler(Collector(received: received))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        var buffer = ByteBuffer()
        FrameEncoder.writePreface(into: &buffer)
        try FrameEncoder().encode(.hello(Hello()), into: &buffer)
        try? await channel.writeAndFlush(buffer).get()
        let closed = await eventually(seconds: 5) { !channel.isActive }
        var decoder = FrameDecoder(expectPreface: false)
        var bytes = ByteBuffer(bytes: received.value)
        var gotHelloAck = false
        while let frame = try? decoder.decodeFrame(buffer: &bytes) {
            if frame.type == .helloAck { gotHelloAck = true }
        }
        try? await channel.close().get()
        return Outcome(gotHelloAck: gotHelloAck, closed: closed)
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: Recorder<[UInt8]>
        init(received: Recorder<[UInt8]>) { self.received = received }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = Array(unwrapInboundIn(data).readableBytesView)
            received.update { $0.append(contentsOf: bytes) }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }
}
