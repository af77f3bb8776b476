internal import NIOCore

/// Where a unary call's answer goes: the calling task's continuation, or the callback of a caller
/// on the event loop. Used instead of an `EventLoopPromise` because a promise per call costs a
/// future, its callback list and a callback, and NIO's generic future looks its type metadata up
/// at run time when it is made and freed (3% of an echo's CPU at 256 in flight,
/// the history of docs/BENCHMARKS.md, "The view's reads without sorts or re-prepared transactions").
///
/// Unchecked Sendable: `destination` is set before the waiter is handed to the connection's event loop
/// (through `EventLoop.execute`, which orders the two) and only that loop calls ``finish(_:)``.
final class UnaryWaiter: @unchecked Sendable {
    private var destination: ((Result<ByteBuffer, any Error>) -> Void)?

    init(_ destination: ((Result<ByteBuffer, any Error>) -> Void)? = nil) { self.destination = destination }

    /// Sets where the answer goes; before the waiter reaches the event loop.
    func answer(with deliver: @escaping (Result<ByteBuffer, any Error>) -> Void) { destination = deliver }

    /// Delivers the answer, once: a later call does nothing.
    func finish(_ result: Result<ByteBuffer, any Error>) {
        guard let deliver = destination else { return }
        destination = nil
        deliver(result)
    }
}
