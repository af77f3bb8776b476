public import Logging
public import ServiceLifecycle

/// A job a server runs at start and then on a fixed interval (the SLA sweep, change log pruning,
/// the relationship event generator). A drain stops it at once: each run is one or more write
/// transactions, so a run cut short rolls back and runs again next time. A failed run is logged and
/// the next one comes on schedule.
public struct PeriodicJob: Service {
    let name: String
    let interval: Duration
    let logger: Logger
    let run: @Sendable () async throws -> Void

    /// - Parameters:
    ///   - name: for the log line of a failed run ("sla sweep").
    ///   - run: one run; it logs what it did itself.
    public init(name: String, interval: Duration, logger: Logger, run: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.interval = interval
        self.logger = logger
        self.run = run
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await run()
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("\(name) failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
