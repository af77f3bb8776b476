import TestSupport
import Foundation
import NIOCore
import ServiceLifecycle
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

@Suite("Server streams and graceful drain")
struct StreamAndDrainTests {
    @Test("a server stream delivers every item in order and ends", arguments: Transport.allCases)
    func streamCompletes(transport: Transport) async throws {
        try await withTestServer(transport: transport) { _, port in
            let connection = try await transport.connect(port: port)
            var request = Crm_System_V1_EchoStreamRequest()
            request.payload = Data("item".utf8)
            request.count = 2000
            var expected: UInt32 = 0
            for try await item in try connection.serverStream(SystemMethods.echoStream, request, window: 16) {
                #expect(item.index == expected)
                expected += 1
            }
            #expect(expected == 2000)
            await connection.close()
        }
    }

    @Test("the server never runs ahead of the credit the client granted", arguments: Transport.allCases)
    func creditBoundsTheProducer(transport: Transport) async throws {
        var router = RPCRouter.withSystemHandlers()
        let written = Recorder(0)
        router.register(SystemMethods.echoStream) { request, writer, _ in
            for index in 0..<request.count {
                var item = Crm_System_V1_EchoStreamItem()
                item.index = index
                try await writer.write(item)
                written.update { $0 += 1 }
            }
        }
        try await withTestServer(router: router, transport: transport) { _, port in
            let connection = try await transport.connect(port: port)
            var request = Crm_System_V1_EchoStreamRequest()
            request.count = 1000
            let window: UInt32 = 8
            var consumed = 0
            var iterator = try connection.serverStream(SystemMethods.echoStream, request, window: window).makeAsyncIterator()
            while consumed < 40, try await iterator.next() != nil {
                consumed += 1
                // Give the server every chance to run ahead, then check it did not.
                try await Task.sleep(for: .milliseconds(5))
                #expect(written.value <= consumed + Int(window), "server wrote \(written.value) with \(consumed) consumed")
            }
            // Stop consuming entirely: the producer stalls within one window.
            try await Task.sleep(for: .milliseconds(200))
            #expect(written.value <= consumed + Int(window))
            await connection.closeNow()
        }
    }

    @Test("an oversize stream request is refused with a field violation", arguments: Transport.allCases)
    func streamValidation(transport: Transport) async throws {
        try await withTestServer(transport: transport) { _, port in
            let connection = try await transport.connect(port: port)
            var request = Crm_System_V1_EchoStreamRequest()
            request.count = SystemMethods.maxEchoStreamCount + 1
            do {
                for try await _ in try connection.serverStream(SystemMethods.echoStream, request) {}
                Issue.record("the stream must fail")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
                #expect(error.fieldViolations.first?.field == "count")
            }
            await connection.close()
        }
    }

    @Test("graceful shutdown: in-flight calls finish, new calls are refused, the server exits", arguments: Transport.allCases)
    func drainLetsInFlightFinish(transport: Transport) async throws {
        var router = RPCRouter.withSystemHandlers()
        let started = Recorder(0)
        router.register(SystemMethods.echo) { request, _ in
            started.update { $0 += 1 }
            try await Task.sleep(for: .milliseconds(500))
            var response = Crm_System_V1_EchoResponse()
            response.payload = request.payload
            return response
        }
        let server = RPCServer(configuration: transport.server(.init(port: 0)), router: router, logger: testLogger)
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try await server.boundAddress().port!
            let connection = try await transport.connect(port: port)
            let inFlight = (0..<5).map { index in
                Task { try await connection.unary(SystemMethods.echo, echoRequest("\(index)"), timeout: .seconds(10)) }
            }
            #expect(await eventually { started.value == 5 })
            await group.triggerGracefulShutdown()
            // The GOAWAY arrives; new calls on this connection are refused as not processed.
            #expect(await eventually { !connection.isUsable })
            do {
                _ = try await connection.unary(SystemMethods.echo, echoRequest("late"))
                Issue.record("a call after GOAWAY must be refused")
            } catch let error as RPCError {
                #expect(error.code == .unavailable)
                #expect(error.processing == .notProcessed)
            }
            for (index, call) in inFlight.enumerated() {
                let response = try await call.value
                #expect(response.payload == Data("\(index)".utf8))
            }
            try await tasks.waitForAll()  // the server exits once drained
            #expect(server.connectionCount == 0)
            // And it no longer accepts connections.
            await #expect(throws: RPCError.self) { _ = try await transport.connect(port: port) }
        }
    }

    @Test("drain timeout: a call that does not finish in time is cut off and the server still exits", arguments: Transport.allCases)
    func drainTimeout(transport: Transport) async throws {
        var router = RPCRouter.withSystemHandlers()
        router.register(SystemMethods.echo) { _, _ in
            try await Task.sleep(for: .seconds(60))
            return Crm_System_V1_EchoResponse()
        }
        let server = RPCServer(
            configuration: transport.server(.init(port: 0, drainTimeout: .milliseconds(300))), router: router, logger: testLogger)
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try await server.boundAddress().port!
            let connection = try await transport.connect(port: port)
            let stuck = Task { try await connection.unary(SystemMethods.echo, echoRequest("stuck"), timeout: .seconds(30)) }
            try await Task.sleep(for: .milliseconds(100))
            let shutdownStarted = ContinuousClock.now
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            // Well before the handler (60 s) or the call's own timeout (30 s) would end it: alone this
            // takes under a second; CI's full parallel run once needed 5.1 s on two cores.
            #expect(ContinuousClock.now - shutdownStarted < .seconds(20))
            let result = await stuck.result
            guard case .failure(let error as RPCError) = result else {
                Issue.record("the stuck call must fail, got \(result)")
                return
            }
            #expect(error.code == .unavailable)
        }
    }
}
