import Testing
import WireProtocol

@testable import ServiceRuntime
internal import CRMAPI

/// The hand-off between a subscription's reader and its applier.
@Suite("Feed buffer")
struct FeedBufferTests {
    typealias Event = Crm_Feed_V1_ChangeEvent

    static func events(_ sequences: ClosedRange<UInt64>) -> [Event] {
        sequences.map { sequence in
            var event = Event()
            event.sequence = sequence
            event.entityKey = "E\(sequence % 3)"
            return event
        }
    }

    struct StreamBroke: Error, Equatable {}

    /// A source that counts what the reader took from it, then ends or throws.
    struct CountingSource: AsyncSequence, Sendable {
        let events: [Event]
        let taken: GroupCommitTests.Started
        let failure: StreamBroke?

        struct AsyncIterator: AsyncIteratorProtocol {
            var remaining: ArraySlice<Event>
            let taken: GroupCommitTests.Started
            let failure: StreamBroke?

            mutating func next() async throws -> Event? {
                guard let event = remaining.popFirst() else {
                    if let failure { throw failure }
                    return nil
                }
                taken.add()
                return event
            }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: events[...], taken: taken, failure: failure) }
    }

    @Test("the applier gets every event once, in order, at most a batch at a time; the reader never holds more than the capacity")
    func orderBatchesAndCapacity() async throws {
        let taken = GroupCommitTests.Started()
        let source = CountingSource(events: Self.events(1...200), taken: taken, failure: nil)
        let buffer = FeedBuffer(capacity: 8)
        var applied: [UInt64] = []
        var largestBatch = 0
        var mostAhead = 0
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await buffer.fill(from: source) }
            try await buffer.drain(batchLimit: 5) { batch in
                largestBatch = max(largestBatch, batch.count)
                applied += batch.map(\.sequence)
                // Let the reader run ahead as far as it can while this batch is "being written".
                try await Task.sleep(for: .milliseconds(2))
                mostAhead = max(mostAhead, taken.count - applied.count)
            }
        }
        #expect(applied == Array(1...200))
        #expect(largestBatch <= 5)
        #expect(largestBatch > 1, "events that waited were applied together")
        // In the buffer (8) plus the one the reader holds while it waits for room.
        #expect(mostAhead <= 9, "\(mostAhead) events taken from the stream ahead of the applier")
    }

    @Test("a stream that fails: what arrived before the failure is applied, then the failure is thrown")
    func failureAfterEvents() async throws {
        let source = CountingSource(events: Self.events(1...7), taken: GroupCommitTests.Started(), failure: StreamBroke())
        let buffer = FeedBuffer(capacity: 4)
        var applied: [UInt64] = []
        await #expect(throws: StreamBroke()) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await buffer.fill(from: source) }
                try await buffer.drain(batchLimit: 3) { batch in applied += batch.map(\.sequence) }
            }
        }
        #expect(applied == Array(1...7))
    }

    @Test("an applier that fails stops at once; the reader waiting for room is cancelled with it")
    func applierFailure() async throws {
        let taken = GroupCommitTests.Started()
        let source = CountingSource(events: Self.events(1...1_000), taken: taken, failure: nil)
        let buffer = FeedBuffer(capacity: 4)
        var batches = 0
        await #expect(throws: StreamBroke()) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await buffer.fill(from: source) }
                defer { group.cancelAll() }
                try await buffer.drain(batchLimit: 2) { _ in
                    batches += 1
                    if batches == 3 { throw StreamBroke() }
                }
            }
        }
        #expect(batches == 3)
        #expect(taken.count < 20, "the reader stopped: it took \(taken.count) of 1,000")
    }
}
