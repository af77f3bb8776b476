import Dispatch
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
@testable import RPCTransport
@testable import ServiceRuntime
import Testing
import WireProtocol
internal import RPCTransport

/// `RPCConnection.connect` against a fake server that answers the HELLO when the test says. Every
/// step that has a time runs on an event loop of the test's own group, so a busy task pool (the
/// full suite runs in parallel) cannot shift it.
@Suite("Connection setup")
struct ConnectionSetupTests {
    @Test("a handshake that succeeds within the connect timeout keeps its connection, however late the connecting task wakes")
    func lateWakeAfterHandshake() async throws {
        try await withFakeServer { loops in
            let gate = DispatchSemaphore(value: 0)
            return { channel in
                // 100 ms after the HELLO: hold the loop the connecting task runs on, then answer.
                // The connect timeout (1 s) passes while the task cannot run; at 1.6 s it can again.
                channel.eventLoop.scheduleTask(in: .milliseconds(100)) {
                    loops.taskLoop.execute { gate.wait() }
                    channel.writeAndFlush(Self.helloAck(), promise: nil)
                }
                channel.eventLoop.scheduleTask(in: .milliseconds(1_600)) { gate.signal() }
            }
        } body: { port, loops in
            let connection = try await Task(executorPreference: EventLoopTaskExecutor(loops.taskLoop)) {
                try await RPCConnection.connect(
                    host: "127.0.0.1", port: port, options: .init(keepaliveInterval: nil, connectTimeout: .seconds(1)),
                    group: loops.clientLoop)
            }.value
            #expect(connection.isUsable)
            #expect(connection.channel.isActive)
            try await connection.channel.close()
        }
    }

    @Test("no HELLO_ACK within the connect timeout: UNAVAILABLE with HANDSHAKE_TIMEOUT")
    func noHelloAck() async throws {
        try await withFakeServer { _ in { _ in } } body: { port, loops in
            let start = ContinuousClock.now
            let error = await #expect(throws: RPCError.self) {
                try await RPCConnection.connect(
                    host: "127.0.0.1", port: port, options: .init(keepaliveInterval: nil, connectTimeout: .milliseconds(300)),
                    group: loops.clientLoop)
            }
            #expect(error?.code == .unavailable)
            #expect(error?.reason == "HANDSHAKE_TIMEOUT")
            #expect(ContinuousClock.now - start >= .milliseconds(300))
        }
    }

    static func helloAck() -> ByteBuffer {
        var buffer = ByteBuffer()
        try! FrameEncoder().encode(.helloAck(Hello()), into: &buffer)  // a constant frame: cannot fail
        return buffer
    }

    struct Loops: Sendable {
        let serverLoop: any EventLoop
        let clientLoop: any EventLoop
        let taskLoop: any EventLoop
    }

    /// A listener whose connections call `onHello` (made by `makeOnHello`) on their event loop when
    /// the client's first bytes (its preface and HELLO) arrive, and answer nothing by themselves.
    func withFakeServer(
        _ makeOnHello: (Loops) -> @Sendable (any Channel) -> Void,
        body: (Int, Loops) async throws -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        let all = Array(group.makeIterator())
        let loops = Loops(serverLoop: all[0], clientLoop: all[1], taskLoop: all[2])
        let onHello = makeOnHello(loops)
        let listener = try await ServerBootstrap(group: loops.serverLoop)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FirstBytesHandler(onFirstBytes: onHello))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let outcome: Result<Void, any Error>
        do {
            try await body(listener.localAddress!.port!, loops)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        try? await listener.close()
        try await group.shutdownGracefully()
        try outcome.get()
    }
}

private final class FirstBytesHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let onFirstBytes: @Sendable (any Channel) -> Void
    private let seen = NIOLockedValueBox(false)

    init(onFirstBytes: @escaping @Sendable (any Channel) -> Void) { self.onFirstBytes = onFirstBytes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let first = seen.withLockedValue { seen in
            defer { seen = true }
            return !seen
        }
        guard first else { return }
        onFirstBytes(context.channel)
    }
}
