internal import Foundation
internal import NIOCore
internal import ServiceRuntime
internal import WireProtocol
internal import RPCTransport
internal import CRMAPI

/// The `echo-loop` workload: System.Echo in a closed loop issued from each connection's event loop
/// through `RPCConnection.callOnEventLoop`, the way the raw floor's client works: each answer,
/// decoded, sends the next call from the loop, with no task per call and no hop between threads on
/// the client. Beside `echo` (one task per worker awaiting each call) it shows how much of a row is
/// the load generator's own async client.
enum EventLoopEcho {
    static func measure(
        connections: [RPCConnection], inFlight: Int, duration: Double, metadata: Metadata, payloadSize: Int = 64,
        progress: Progress? = nil
    ) async throws -> LatencyRecorder {
        var request = Crm_System_V1_EchoRequest()
        request.payload = Data(repeating: 0x61, count: payloadSize)
        let payload = try request.encodedPayload()
        let until = NIODeadline.now() + .nanoseconds(Int64(duration * 1e9))
        let started = NIODeadline.now()
        var futures: [EventLoopFuture<LatencyRecorder>] = []
        for (index, connection) in connections.enumerated() {
            // The workers spread over the connections as in the `echo` workload (worker % count).
            let workers = inFlight / connections.count + (index < inFlight % connections.count ? 1 : 0)
            guard workers > 0 else { continue }
            futures.append(
                connection.eventLoop.flatSubmit {
                    Chains(connection: connection, payload: payload, payloadSize: payloadSize, metadata: metadata, until: until, progress: progress)
                        .run(workers)
                })
        }
        var total = LatencyRecorder()
        for future in futures { total.merge(try await future.get()) }
        total.elapsed = NIODeadline.now() - started
        return total
    }

    /// `workers` call chains on one connection; touched only on its event loop.
    private final class Chains {
        let connection: RPCConnection
        let payload: ByteBuffer
        let payloadSize: Int
        let metadata: Metadata
        let until: NIODeadline
        let progress: Progress?
        var recorder = LatencyRecorder()
        var running = 0
        let done: EventLoopPromise<LatencyRecorder>

        init(connection: RPCConnection, payload: ByteBuffer, payloadSize: Int, metadata: Metadata, until: NIODeadline, progress: Progress?) {
            (self.connection, self.payload, self.payloadSize, self.metadata, self.until, self.progress) =
                (connection, payload, payloadSize, metadata, until, progress)
            done = connection.eventLoop.makePromise()
        }

        func run(_ workers: Int) -> EventLoopFuture<LatencyRecorder> {
            running = workers
            for _ in 0..<workers { next() }
            return done.futureResult
        }

        private func next() {
            let sent = NIODeadline.now()
            guard sent < until else {
                running -= 1
                if running == 0 { done.succeed(recorder) }
                return
            }
            let loopBound = NIOLoopBound(self, eventLoop: connection.eventLoop)
            connection.callOnEventLoop(method: SystemMethods.echo.id, payload: payload, metadata: metadata) { result in
                let chains = loopBound.value
                do {
                    let response = try Crm_System_V1_EchoResponse(payload: try result.get())
                    guard response.payload.count == chains.payloadSize else { throw Workload.WrongAnswer() }
                    let latency = NIODeadline.now() - sent
                    chains.recorder.record(latency)
                    chains.progress?.completed(latency)
                } catch {
                    chains.recorder.recordFailure(error)
                    chains.progress?.failed()
                }
                chains.next()
            }
        }
    }
}
