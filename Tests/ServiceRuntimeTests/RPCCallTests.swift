import TestSupport
import Foundation
import NIOCore
import NIOPosix
import ServiceRuntime
import Synchronization
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

@Suite("RPC calls over loopback")
struct RPCCallTests {
    @Test("echo and health answer; an unknown method is UNIMPLEMENTED, not processed", arguments: Transport.allCases)
    func basics(transport: Transport) async throws {
        try await withTestServer(transport: transport) { _, port in
            let connection = try await transport.connect(port: port)
            let echo = try await connection.unary(SystemMethods.echo, echoRequest("你好"))
            #expect(String(decoding: echo.payload, as: UTF8.self) == "你好")
            let health = try await connection.unary(SystemMethods.health, Crm_System_V1_HealthRequest())
            #expect(health.status == .serving)
            #expect(health.server == "test")
            do {
                _ = try await connection.call(method: MethodID(service: 9, method: 9), payload: ByteBuffer())
                Issue.record("an unknown method must fail")
            } catch let error as RPCError {
                #expect(error.code == .unimplemented)
                #expect(error.processing == .notProcessed)
            }
            await connection.close()
        }
    }

    @Test("an immediate handler answers on the connection's event loop, its errors reach the caller, and calls after it go on", arguments: Transport.allCases)
    func immediateHandler(transport: Transport) async throws {
        var router = RPCRouter.withSystemHandlers()
        let onEventLoop = Recorder<[Bool]>([])
        router.registerImmediate(SystemMethods.echo) { request, _ in
            onEventLoop.update { $0.append(MultiThreadedEventLoopGroup.currentEventLoop != nil) }
            if request.payload == Data("refuse".utf8) {
                throw RPCError(code: .failedPrecondition, message: "refused", reason: ErrorReason("REFUSED"), processing: .notProcessed)
            }
            var response = Crm_System_V1_EchoResponse()
            response.payload = request.payload
            return response
        }
        try await withTestServer(router: router, transport: transport) { _, port in
            let connection = try await transport.connect(port: port)
            do {
                _ = try await connection.unary(SystemMethods.echo, echoRequest("refuse"))
                Issue.record("the handler's error must reach the caller")
            } catch let error as RPCError {
                #expect(error.code == .failedPrecondition)
                #expect(error.reason == "REFUSED")
            }
            let answers = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<50 {
                    group.addTask { String(decoding: try await connection.unary(SystemMethods.echo, echoRequest("\(index)")).payload, as: UTF8.self) }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(answers == Set((0..<50).map { "\($0)" }))
            #expect(onEventLoop.value == Array(repeating: true, count: 51))
            await connection.close()
        }
    }

    @Test("callOnEventLoop: 100 calls chained from the connection's event loop, each answered there; an error completes the future", arguments: Transport.allCases)
    func callsFromTheEventLoop(transport: Transport) async throws {
        try await withTestServer(transport: transport) { _, port in
            let connection = try await transport.connect(port: port)
            let payload = try echoRequest("loop").encodedPayload()
            let eventLoop = connection.eventLoop
            // Each answer sends the next call from the loop, as a proxy or a load generator does.
            let answers = try await eventLoop.flatSubmit {
                let answered = Mutex<[Bool]>([])
                @Sendable func next(_ remaining: Int) -> EventLoopFuture<[Bool]> {
                    guard remaining > 0 else { return eventLoop.makeSucceededFuture(answered.withLock { $0 }) }
                    return connection.callOnEventLoop(method: SystemMethods.echo.id, payload: payload).flatMap { buffer in
                        let echoed = (try? Crm_System_V1_EchoResponse(payload: buffer).payload) == Data("loop".utf8)
                        let onLoop = eventLoop.inEventLoop
                        answered.withLock { $0.append(echoed && onLoop) }
                        return next(remaining - 1)
                    }
                }
                return next(100)
            }.get()
            #expect(answers == Array(repeating: true, count: 100))
            do {
                _ = try await connection.callOnEventLoop(method: MethodID(service: 9, method: 9), payload: ByteBuffer()).get()
                Issue.record("an unknown method must fail")
            } catch let error as RPCError {
                #expect(error.code == .unimplemented)
            }
            await connection.close()
        }
    }

    @Test("an invalid request body gets INVALID_ARGUMENT and the connection stays up", arguments: Transport.allCases)
    func malformedBody(transport: Transport) async throws {
        try await withTestServer(transport: transport) { _, port in
            let connection = try await transport.connect(port: port)
            do {
                _ = try await connection.call(method: SystemMethods.echo.id, payload: ByteBuffer(bytes: [0x0A, 0xFF, 0x01]))
                Issue.record("a malformed body must fail")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
                #expect(error.reason == "MALFORMED_REQUEST")
            }
            let echo = try await connection.unary(SystemMethods.echo, echoRequest("still here"))
            #expect(echo.payload == Data("still here".utf8))
            await connection.close()
        }
    }

    @Test("1,000 concurrent calls on one connection, answered out of order", arguments: Transport.allCases)
    func thousandConcurrentCalls(transport: Transport) async throws {
        var router = RPCRouter.withSystemHandlers()
        let order = Recorder<[Int]>([])
        router.register(SystemMethods.echo) { request, _ in
            let index = Int(String(decoding: request.payload, as: UTF8.self))!
            // Later calls finish first: the answer order is the reverse of the call order, roughly.
            try await Task.sleep(for: .milliseconds(1000 - index))
            order.update { $0.append(index) }
            var response = Crm_System_V1_EchoResponse()
            response.payload = request.payload
            return response
        }
        try await withTestServer(router: router, transport: transport) { _, port in
            let connection = try await transport.connect(port: port)
            #expect(connection.parameters.maxConcurrentStreams >= 1000)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<1000 {
                    group.addTask {
                        let response = try await connection.unary(SystemMethods.echo, echoRequest("\(index)"), timeout: .seconds(30))
                        #expect(response.payload == Data("\(index)".utf8))
                    }
                }
                try await group.waitForAll()
            }
            let completed = order.value
            #expect(completed.count == 1000)
            #expect(completed != completed.sorted(), "answers came back in call order")
            await connection.close()
        }
    }

    @Test("a deadline is seen by the caller as DEADLINE_EXCEEDED and by the slow handler as cancellation", arguments: Transport.allCases)
    func deadlineExceeded(transport: Transport) async throws {
        var router = RPCRouter.withSystemHandlers()
        let handlerCancelled = Recorder(false)
        router.register(SystemMethods.echo) { request, _ in
            do {
                try await Task.sleep(for: .seconds(30))
            } catch {
                handlerCancelled.update { $0 = true }
                throw error
            }
            return Crm_System_V1_EchoResponse()
        }
        try await withTestServer(router: router, transport: transport) { _, port in
            let connection = try await transport.connect(port: port)
            let started = ContinuousClock.now
            do {
                _ = try await connection.unary(SystemMethods.echo, echoRequest("slow"), timeout: .milliseconds(200))
                Issue.record("the call must time out")
            } catch let error as RPCError {
                #expect(error.code == .deadlineExceeded)
            }
            // Well short of the handler's 30 s, with room for a loaded machine (5.4 s seen in a full run).
            #expect(ContinuousClock.now - started < .seconds(20))
            #expect(await eventually { handlerCancelled.value }, "the handler was not cancelled at the deadline")
            await connection.close()
        }
    }

    @Test("the server enforces the deadline even if the client does not wait for it", arguments: Transport.allCases)
    func serverSideDeadline(transport: Transport) async throws {
        var router = RPCRouter.withSystemHandlers()
        router.register(SystemMethods.echo) { _, _ in
            try await Task.sleep(for: .seconds(30))
            return Crm_System_V1_EchoResponse()
        }
        try await withTestServer(router: router, transport: transport) { _, port in
            let connection = try await transport.connect(port: port)
            // Ask the server for 150 ms but wait up to 10 s locally: the server's error must come first.
            do {
                _ = try await connection.unary(
                    SystemMethods.echo, echoRequest("slow"), metadata: Metadata(timeoutMilliseconds: 150), timeout: nil)
                Issue.record("the call must time out")
            } catch let error as RPCError {
                #expect(error.code == .deadlineExceeded)
            }
            await connection.close()
        }
    }

    @Test("calls on one connection with different deadlines each fail at their own, earliest first, whatever order they came in", arguments: Transport.allCases)
    func deadlinesOnOneConnection(transport: Transport) async throws {
        var router = RPCRouter.withSystemHandlers()
        router.register(SystemMethods.echo) { request, _ in
            if request.payload != Data("fast".utf8) { try await Task.sleep(for: .seconds(30)) }
            var response = Crm_System_V1_EchoResponse()
            response.payload = request.payload
            return response
        }
        try await withTestServer(router: router, transport: transport) { _, port in
            let connection = try await transport.connect(port: port)
            // The long deadline arrives first (the connection's one timer is set for it), the
            // short one after (the timer must be brought forward), then a call that answers.
            let elapsed = try await withThrowingTaskGroup(of: (Int, Duration?).self) { group in
                for (index, milliseconds) in [10_000, 200].enumerated() {
                    group.addTask {
                        let started = ContinuousClock.now
                        do {
                            _ = try await connection.unary(
                                SystemMethods.echo, echoRequest("slow"), metadata: Metadata(timeoutMilliseconds: UInt32(milliseconds)), timeout: nil)
                            return (index, nil)
                        } catch let error as RPCError where error.code == .deadlineExceeded {
                            return (index, ContinuousClock.now - started)
                        }
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
                let fast = try await connection.unary(SystemMethods.echo, echoRequest("fast"))
                #expect(String(decoding: fast.payload, as: UTF8.self) == "fast")
                var elapsed: [Int: Duration?] = [:]
                for try await (index, duration) in group { elapsed[index] = duration }
                return elapsed
            }
            let long = try #require(elapsed[0] ?? nil, "the 10 s call must fail with DEADLINE_EXCEEDED")
            let short = try #require(elapsed[1] ?? nil, "the 200 ms call must fail with DEADLINE_EXCEEDED")
            // Generous: the full suite has stalled this machine's task pool for seconds.
            #expect(short < .seconds(8), "the short deadline waited for the long one's timer")
            #expect(long >= .seconds(10))
            await connection.close()
        }
    }

    @Test("cancelling the calling task reaches the handler as task cancellation", arguments: Transport.allCases)
    func cancelReachesHandler(transport: Transport) async throws {
        var router = RPCRouter.withSystemHandlers()
        let started = Recorder(false)
        let cancelled = Recorder(false)
        router.register(SystemMethods.echo) { _, _ in
            started.update { $0 = true }
            do {
                try await Task.sleep(for: .seconds(30))
            } catch is CancellationError {
                cancelled.update { $0 = true }
                throw CancellationError()
            }
            return Crm_System_V1_EchoResponse()
        }
        try await withTestServer(router: router, transport: transport) { _, port in
            let connection = try await transport.connect(port: port)
            let call = Task { try await connection.unary(SystemMethods.echo, echoRequest("x")) }
            #expect(await eventually { started.value })
            call.cancel()
            let result = await call.result
            guard case .failure(let error as RPCError) = result else {
                Issue.record("the cancelled call must fail with an RPCError, got \(result)")
                return
            }
            #expect(error.code == .cancelled)
            #expect(await eventually { cancelled.value }, "the handler never saw the cancellation")
            // The connection still works.
            _ = try await connection.unary(SystemMethods.health, Crm_System_V1_HealthRequest())
            await connection.close()
        }
    }
}
