internal import NIOCore
internal import Synchronization

/// An open-loop load: calls start at a fixed rate whether or not earlier ones have answered, and
/// each latency is measured from the call's intended start, so a server (or a generator) that
/// falls behind shows up as latency instead of as a lower rate (no coordinated omission).
enum OpenLoop {
    /// Calls started but not answered beyond which the generator stops starting more and counts
    /// each skipped call as a `GENERATOR_OVERLOAD` failure rather than let memory grow.
    static let maximumOutstanding = 20_000

    static func measure(
        rate: Double, duration: Double, progress: Progress? = nil,
        _ call: @escaping @Sendable (_ worker: Int, _ iteration: Int) async throws -> Void
    ) async -> LatencyRecorder {
        final class Shared: Sendable {
            let recorder = Mutex(LatencyRecorder())
            let outstanding = Atomic(0)
        }
        let shared = Shared()
        let started = ContinuousClock.now
        let startedDeadline = NIODeadline.now()
        let total = Int(rate * duration)
        let interval = 1e9 / rate
        await withDiscardingTaskGroup { group in
            for index in 0..<total {
                let intended = started + .nanoseconds(Int64(Double(index) * interval))
                if intended > ContinuousClock.now {
                    try? await Task.sleep(until: intended, tolerance: .microseconds(100), clock: .continuous)
                }
                guard shared.outstanding.load(ordering: .relaxed) < maximumOutstanding else {
                    shared.recorder.withLock { $0.errorsByCode["GENERATOR_OVERLOAD", default: 0] += 1 }
                    continue
                }
                shared.outstanding.add(1, ordering: .relaxed)
                // The worker/iteration pair that spreads calls over customers like the closed loop does.
                let (worker, iteration) = (index % 1_024, index / 1_024)
                group.addTask {
                    defer { shared.outstanding.subtract(1, ordering: .relaxed) }
                    do {
                        try await call(worker, iteration)
                        let latency = TimeAmount.nanoseconds(Int64((ContinuousClock.now - intended) / .nanoseconds(1)))
                        shared.recorder.withLock { $0.record(latency) }
                        progress?.completed(latency)
                    } catch {
                        shared.recorder.withLock { $0.recordFailure(error) }
                        progress?.failed()
                    }
                }
            }
        }
        var recorder = shared.recorder.withLock { $0 }
        recorder.elapsed = NIODeadline.now() - startedDeadline
        return recorder
    }
}
