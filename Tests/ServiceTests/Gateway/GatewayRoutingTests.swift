import Foundation
import Gateway
import NIOCore
import ServiceRuntime
import Testing
import TestSupport
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// Where calls go: pools chosen by least in flight, failover, the retry rules, streams passed
/// through, and a prompt UNAVAILABLE when nothing is up.
@Suite("Gateway routing")
struct GatewayRoutingTests {
    static var feedCallers: [[String: Any]] {
        var callers = GatewayHarness.defaultCallers
        callers[0]["allow"] = ["Customer.*", "Feed.Subscribe"]
        return callers
    }

    @Test("a server stream passes through item by item when the policy allows it")
    func streamPassesThrough() async throws {
        try await GatewayHarness.withGateway(callers: Self.feedCallers) { gateway in
            let connection = try await gateway.connect()
            var request = Crm_Feed_V1_SubscribeRequest()
            request.afterSequence = 500
            var sequences: [UInt64] = []
            for try await event in try connection.serverStream(FeedMethods.subscribe, request, window: 8) { sequences.append(event.sequence) }
            #expect(sequences == Array(1...500))
            await connection.closeNow()
        }
    }

    @Test("with no backend up a call fails at once with UNAVAILABLE, not processed")
    func noBackend() async throws {
        let unusedPort = try await FeedProcessTests.freePort()
        try await GatewayHarness.withGateway(tweak: { config in
            config["backends"] = [["name": "customer", "services": [2], "instances": ["127.0.0.1:\(unusedPort)"]]]
        }) { gateway in
            let connection = try await gateway.connect()
            for _ in 0..<3 {
                let started = ContinuousClock.now
                let error = await #expect(throws: RPCError.self) {
                    _ = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest(), timeout: .seconds(30))
                }
                #expect(error?.code == .unavailable)
                #expect(error?.processing == .notProcessed)
                #expect(ContinuousClock.now - started < .seconds(5))
            }
            await connection.closeNow()
        }
    }

    @Test("timeout_ms 0 is DEADLINE_EXCEEDED, not processed, on the gateway's own System methods and forwarded ones alike; nothing runs")
    func zeroDeadline() async throws {
        let calls = Recorder(0)
        try await GatewayHarness.withGateway(backends: [GatewayHarness.probeRouter(name: "b1", calls: calls)]) { gateway in
            let connection = try await gateway.connect()
            // Sent as written (no local timeout, which the client would put in timeout_ms instead).
            let expired = Metadata(timeoutMilliseconds: 0)
            let echo = await #expect(throws: RPCError.self) {
                _ = try await connection.unary(SystemMethods.echo, Crm_System_V1_EchoRequest(), metadata: expired, timeout: nil)
            }
            let health = await #expect(throws: RPCError.self) {
                _ = try await connection.unary(SystemMethods.health, Crm_System_V1_HealthRequest(), metadata: expired, timeout: nil)
            }
            let forwarded = await #expect(throws: RPCError.self) {
                _ = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest(), metadata: expired, timeout: nil)
            }
            for error in [echo, health, forwarded] {
                #expect(error?.code == .deadlineExceeded)
                #expect(error?.reason == "DEADLINE_EXCEEDED")
                #expect(error?.processing == .notProcessed)
            }
            #expect(calls.value == 0, "the backend never saw the call")
            // A deadline of 1 ms or more still runs the call.
            _ = try await connection.unary(SystemMethods.echo, Crm_System_V1_EchoRequest(), metadata: Metadata(timeoutMilliseconds: 5_000), timeout: .seconds(10))
            await connection.closeNow()
        }
    }

    @Test("calls in flight spread over the instances, the least busy first")
    func leastInFlight() async throws {
        // Every call is held at its backend until all eight arrived, so the choice depends on
        // calls in flight alone, not on how fast a loaded machine runs them.
        let arrived = Recorder(0)
        let gate = Recorder(false)
        try await GatewayHarness.withGateway(backends: [
            GatewayHarness.probeRouter(name: "b1", calls: arrived, gate: gate),
            GatewayHarness.probeRouter(name: "b2", calls: arrived, gate: gate),
        ]) { gateway in
            let connection = try await gateway.connect()
            let backends = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let response = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest("hold"), timeout: .seconds(60))
                        return String(response.customer.id.split(separator: "|")[0])
                    }
                }
                #expect(await eventually(seconds: 30) { arrived.value == 8 })
                gate.update { $0 = true }
                return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
            }
            #expect(backends == ["b1": 4, "b2": 4])
            await connection.closeNow()
        }
    }

    @Test("an instance that goes away is marked down and calls go to the other")
    func failover() async throws {
        try await GatewayHarness.withGateway(backends: [GatewayHarness.probeRouter(name: "b1"), GatewayHarness.probeRouter(name: "b2")]) { gateway in
            let connection = try await gateway.connect()
            _ = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest())
            await gateway.stopBackend(0)
            #expect(await eventually(seconds: 15) { !gateway.gateway.pools[0].instances[0].isUp })
            for _ in 0..<20 {
                let response = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest())
                #expect(response.customer.id.hasPrefix("b2|"))
            }
            await connection.closeNow()
        }
    }

    @Test("retried on another instance only if not processed, or idempotent with a key")
    func retryRules() async throws {
        let calls = Recorder(0)
        try await GatewayHarness.withGateway(
            backends: [GatewayHarness.probeRouter(name: "b1", calls: calls), GatewayHarness.probeRouter(name: "b2", calls: calls)]
        ) { gateway in
            let connection = try await gateway.connect()
            // Not processed: safe anywhere.
            let shed = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest("flaky-not"))
            #expect(shed.customer.id.hasPrefix("b2|"))
            // Maybe processed, no idempotency key: the caller decides.
            let lost = await #expect(throws: RPCError.self) {
                _ = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest("flaky-maybe"))
            }
            #expect(lost?.reason == "STORAGE_LOST")
            // Maybe processed, idempotent method with a key: repeated on the other instance.
            let keyed = try await connection.unary(
                CustomerMethods.get, GatewayHarness.getRequest("flaky-maybe"), metadata: Metadata(idempotencyKey: "k-1"))
            #expect(keyed.customer.id.hasPrefix("b2|"))
            // A method that is not idempotent is never repeated, key or not.
            calls.update { $0 = 0 }
            let create = await #expect(throws: RPCError.self) {
                _ = try await connection.unary(CustomerMethods.create, .init(), metadata: Metadata(idempotencyKey: "k-2"))
            }
            #expect(create?.reason == "STORAGE_LOST")
            #expect(calls.value == 1)
            await connection.closeNow()
        }
    }
}
