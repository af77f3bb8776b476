internal import Synchronization
internal import WireProtocol
internal import CRMAPI

/// The events of one subscription that have arrived and are not yet applied. The stream's reader
/// puts them in as they come; the applier takes all there are (up to a batch) so that one
/// transaction, one commit and one fsync apply what queued while the previous batch was being
/// written. Under a steady stream of changes that is many events a commit instead of one.
///
/// Holds at most `capacity` events: the reader waits for room, and the stream's credit (granted
/// as the reader takes items) then holds the producer back.
final class FeedBuffer: Sendable {
    typealias Event = Crm_Feed_V1_ChangeEvent

    private struct State {
        var events: [Event] = []
        /// How the stream ended, once it did.
        var end: Result<Void, any Error>?
    }

    private let capacity: Int
    private let state = Mutex(State())
    /// "Events were put in or the stream ended"; signals coalesce, the state is what counts.
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// "Events were taken out": the reader waiting for room looks again.
    private let rooms: AsyncStream<Void>
    private let room: AsyncStream<Void>.Continuation

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        (rooms, room) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The reader's side: moves the stream's events in until it ends, fails, or the task is cancelled.
    func fill<Stream: AsyncSequence>(from stream: Stream) async where Stream.Element == Event {
        var roomSignals = rooms.makeAsyncIterator()
        do {
            for try await event in stream {
                while state.withLock({ $0.events.count >= capacity }) {
                    guard await roomSignals.next() != nil else { throw CancellationError() }
                }
                state.withLock { $0.events.append(event) }
                wake.yield()
            }
            finish(.success(()))
        } catch {
            finish(.failure(error))
        }
    }

    private func finish(_ end: Result<Void, any Error>) {
        state.withLock { $0.end = end }
        wake.finish()
    }

    /// The applier's side: calls `apply` with the waiting events, oldest first, at most `batchLimit`
    /// at a time, until the stream has ended and everything before its end was applied; then throws
    /// the stream's error, if it ended with one. Throws what `apply` throws, at once.
    func drain(batchLimit: Int, _ apply: ([Event]) async throws -> Void) async throws {
        for await _ in wakes {
            try await applyWaiting(batchLimit, apply)
        }
        try Task.checkCancellation()
        try await applyWaiting(batchLimit, apply)
        if case .failure(let error) = state.withLock({ $0.end }) { throw error }
    }

    private func applyWaiting(_ batchLimit: Int, _ apply: ([Event]) async throws -> Void) async throws {
        while true {
            let batch = state.withLock { state -> [Event] in
                let count = min(max(batchLimit, 1), state.events.count)
                defer { state.events.removeFirst(count) }
                return Array(state.events.prefix(count))
            }
            if batch.isEmpty { return }
            room.yield()
            try await apply(batch)
        }
    }
}
