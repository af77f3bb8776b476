internal import NIOCore

/// A closed-loop load: `inFlight` workers, each sending its next call as soon as the last one
/// answers, for `duration` seconds. Every worker records its own latencies; they are merged at the end.
enum ClosedLoop {
    static func measure(
        inFlight: Int, duration: Double, progress: Progress? = nil,
        _ call: @escaping @Sendable (_ worker: Int, _ iteration: Int) async throws -> Void
    ) async throws -> LatencyRecorder {
        let until = ContinuousClock.now + .nanoseconds(Int64(duration * 1e9))
        let started = NIODeadline.now()
        var total = try await withThrowingTaskGroup(of: LatencyRecorder.self) { group in
            for worker in 0..<inFlight {
                group.addTask {
                    var recorder = LatencyRecorder()
                    var iteration = 0
                    while ContinuousClock.now < until {
                        let sent = NIODeadline.now()
                        do {
                            try await call(worker, iteration)
                            let latency = NIODeadline.now() - sent
                            recorder.record(latency)
                            progress?.completed(latency)
                        } catch {
                            recorder.recordFailure(error)
                            progress?.failed()
                        }
                        iteration += 1
                    }
                    return recorder
                }
            }
            var merged = LatencyRecorder()
            for try await recorder in group { merged.merge(recorder) }
            return merged
        }
        total.elapsed = NIODeadline.now() - started
        return total
    }
}
