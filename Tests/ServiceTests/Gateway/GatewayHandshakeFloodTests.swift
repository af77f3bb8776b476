import Foundation
import Gateway
import NIOCore
import NIOPosix
import ServiceRuntime
import Testing
import TestSupport
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// The slow-handshake attack: many connections that never finish their TLS handshake, each
/// sending one byte now and then so that no idle timer would catch them.
@Suite("Gateway under a handshake flood")
struct GatewayHandshakeFloodTests {
    static let attackers = 2_000
    static let handshakeTimeout = 1_000

    @Test("2,000 connections trickling handshake bytes are closed within the handshake timeout while a caller is served")
    func trickleFlood() async throws {
        try await GatewayHarness.withGateway(tweak: { config in
            config["timeouts"] = ["handshake_ms": Self.handshakeTimeout]
        }) { gateway in
            // Before the attack; with a 1 s handshake timeout on a machine the rest of the suite
            // saturates, a first connection was once reset before its handshake finished. A caller
            // reconnects; what is tested is that, once in, it is served throughout the flood.
            var connected: RPCConnection?
            for attempt in 1...5 where connected == nil {
                do {
                    connected = try await gateway.connect()
                } catch where attempt < 5 {
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            let caller = try #require(connected)
            let stop = Recorder(false)
            // Each call may take long when the suite's peak and the attack share two cores (5 s
            // was once exceeded by 5 calls of many); what must hold is that none fails.
            let served = Task {
                var (ok, failed) = (0, [String]())
                while !stop.value {
                    do {
                        _ = try await caller.unary(CustomerMethods.get, GatewayHarness.getRequest(), timeout: .seconds(30))
                        ok += 1
                    } catch {
                        failed.append("\(error)")
                    }
                }
                return (ok, failed)
            }

            // The attackers get event loops of their own, as the garbage flood in HostileInputTests
            // does: on the shared ones, 2,000 trickling connections and the rest of the suite left
            // a connect unanswered for over 30 s on a host whose other guests stole CPU.
            let attackLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            defer { attackLoops.shutdownGracefully { _ in } }
            let channels = try await TrickleAttack.open(Self.attackers, port: gateway.port, group: attackLoops)
            let opened = ContinuousClock.now
            #expect(channels.count == Self.attackers)
            // Every attacker is closed by the gateway once its handshake timeout has passed. Alone
            // this takes about 1.1 s; the slack covers two cores shared with the rest of the suite
            // (6 s was once not enough). The attackers keep sending, so only the timeout closes them.
            let allClosed = await eventually(seconds: Double(Self.handshakeTimeout) / 1000 + 30) {
                channels.allSatisfy { !$0.isActive }
            }
            let closedAfter = ContinuousClock.now - opened
            #expect(allClosed, "\(channels.filter(\.isActive).count) attackers still open after \(closedAfter)")
            print("trickle flood: \(channels.count) attackers all closed \(closedAfter) after the last one connected")
            stop.update { $0 = true }
            let (ok, failed) = await served.value
            #expect(failed.isEmpty, "\(failed.count) calls failed, \(ok) served; first: \(failed.first ?? "")")
            #expect(ok > 0)
            // Nothing of the attack is left open on the gateway.
            #expect(await eventually { gateway.gateway.server.connectionCount == 1 })
            await caller.closeNow()
        }
    }
}

/// Opens connections that start a TLS ClientHello and then send one more byte every 100 ms.
enum TrickleAttack {
    /// A record header announcing a 512-byte handshake message, then the start of a ClientHello.
    static let bytes: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03] + Array(repeating: 0x2A, count: 500)

    static func open(_ count: Int, port: Int, group loops: any EventLoopGroup) async throws -> [any Channel] {
        try await withThrowingTaskGroup(of: [any Channel].self) { group in
            let perTask = 100
            for start in stride(from: 0, to: count, by: perTask) {
                group.addTask {
                    var channels: [any Channel] = []
                    for _ in start..<min(start + perTask, count) {
                        let channel = try await ClientBootstrap(group: loops)
                            .connectTimeout(TestTimeouts.connect)
                            .connect(host: "127.0.0.1", port: port).get()
                        trickle(channel)
                        channels.append(channel)
                    }
                    return channels
                }
            }
            return try await group.reduce(into: []) { $0.append(contentsOf: $1) }
        }
    }

    private static func trickle(_ channel: any Channel) {
        let next = TricklePosition()
        let task = channel.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(100)) { task in
            guard channel.isActive else {
                task.cancel()
                return
            }
            let index = next.next(modulo: bytes.count)
            channel.writeAndFlush(ByteBuffer(bytes: [bytes[index]]), promise: nil)
        }
        channel.closeFuture.whenComplete { _ in task.cancel() }
    }
}

/// Where a connection's trickle is in ``TrickleAttack/bytes``.
final class TricklePosition: @unchecked Sendable {
    // @unchecked: touched only on the connection's event loop.
    private var value = 0
    func next(modulo: Int) -> Int {
        defer { value = (value + 1) % modulo }
        return value
    }
}
