import TestSupport
import Foundation
import NIOCore
import NIOPosix
import ServiceLifecycle
@testable import RPCTransport
@testable import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

@Suite("Reconnecting client")
struct RPCClientTests {
    /// Runs a server on `port` until `body` returns, then drains it.
    func serve(port: Int, name: String, transport: Transport = .plain, _ body: @Sendable () async throws -> Void) async throws {
        var router = RPCRouter()
        SystemHandlers.register(into: &router, serverName: name, version: "test")
        let server = RPCServer(configuration: transport.server(.init(port: port)), router: router, logger: testLogger)
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            _ = try await server.boundAddress()
            try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("a call made on an event loop of the client's group goes out on a connection of that loop; calls from elsewhere use any working one")
    func connectionPerEventLoop() async throws {
        let port = try freeLoopbackPort()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let client = RPCClient(configuration: .init(host: "127.0.0.1", port: port), group: group)
        let loops = Array(group.makeIterator())
        try await serve(port: port, name: "loops") {
            var byLoop: [RPCConnection] = []
            for loop in loops {
                let (connection, health) = try await Task(executorPreference: EventLoopTaskExecutor(loop)) {
                    (try await client.connection(), try await client.unary(SystemMethods.health, Crm_System_V1_HealthRequest()))
                }.value
                #expect(connection.eventLoop === loop)
                #expect(health.server == "loops")
                byLoop.append(connection)
            }
            #expect(byLoop[0] !== byLoop[1])
            // Reused, not opened again.
            let again = try await Task(executorPreference: EventLoopTaskExecutor(loops[0])) { try await client.connection() }.value
            #expect(again === byLoop[0])
            let elsewhere = try await client.connection()
            #expect(byLoop.contains { $0 === elsewhere })
        }
        await client.close()
        try await group.shutdownGracefully()
    }

    @Test("after a server restart (GOAWAY, then a new process on the same port) calls go to a new connection", arguments: Transport.allCases)
    func reconnectsAfterRestart(transport: Transport) async throws {
        // Serve on one port twice in a row.
        let port = try freeLoopbackPort()
        let client = RPCClient(
            configuration: .init(
                host: "127.0.0.1", port: port, options: transport.options(), initialBackoff: .milliseconds(20),
                // Up to about 40 s of attempts: a loaded CI machine can take seconds to start the second server.
                maximumBackoff: .milliseconds(200), maximumAttempts: 200))
        try await serve(port: port, name: "first", transport: transport) {
            let health = try await client.unary(SystemMethods.health, Crm_System_V1_HealthRequest())
            #expect(health.server == "first")
        }
        // The first server is gone: a call now has to wait for the second one, which starts a little
        // later and serves until the call has its answer.
        let answered = Recorder(false)
        async let restarted: Void = {
            try await Task.sleep(for: .milliseconds(200))
            try await serve(port: port, name: "second", transport: transport) {
                _ = await eventually(seconds: 30) { answered.value }
            }
        }()
        let health = try await client.unary(SystemMethods.health, Crm_System_V1_HealthRequest(), timeout: .seconds(30))
        answered.update { $0 = true }
        #expect(health.server == "second")
        try await restarted
        await client.close()
    }

    @Test("with no server, a call fails UNAVAILABLE, not processed, after its attempts")
    func noServer() async throws {
        let client = RPCClient(configuration: .init(host: "127.0.0.1", port: 1, initialBackoff: .milliseconds(5), maximumAttempts: 3))
        do {
            _ = try await client.unary(SystemMethods.health, Crm_System_V1_HealthRequest())
            Issue.record("the call must fail")
        } catch let error as RPCError {
            #expect(error.code == .unavailable)
            #expect(error.processing == .notProcessed)
        }
    }

    @Test("backoff grows exponentially, stays under the cap, and is jittered")
    func backoff() {
        let client = RPCClient(configuration: .init(host: "x", port: 1, initialBackoff: .milliseconds(100), maximumBackoff: .seconds(1)))
        for attempt in 1...10 {
            let wait = client.backoffForTesting(attempt: attempt)
            let ceiling = min(100_000_000 << (attempt - 1), 1_000_000_000)
            #expect(wait.nanoseconds <= ceiling)
            #expect(wait.nanoseconds >= ceiling / 2)
        }
        let samples = Set((0..<20).map { _ in client.backoffForTesting(attempt: 5).nanoseconds })
        #expect(samples.count > 1, "no jitter")
    }
}
