internal import Foundation
internal import GRDB
public import Logging
public import ServiceLifecycle

/// Prunes a producer's change log once a minute: events every registered consumer acknowledged
/// and older than the retention window go (``ChangeLog/prune(retentionMilliseconds:nowMilliseconds:_:)``).
/// With no registered consumer nothing is pruned.
public struct ChangeLogPruner: Service {
    let store: Store
    let retention: Duration
    let interval: Duration
    let logger: Logger

    public init(store: Store, retention: Duration, interval: Duration = .seconds(60), logger: Logger) {
        self.store = store
        self.retention = retention
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let retentionMilliseconds = Int64(retention / .milliseconds(1))
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let deleted = try await store.pool.write { db in
                        try ChangeLog.prune(retentionMilliseconds: retentionMilliseconds, nowMilliseconds: FeedHandlers.nowMilliseconds(), db)
                    }
                    if deleted > 0 { logger.info("change log pruned", metadata: ["events": "\(deleted)"]) }
                } catch {
                    logger.warning("change log pruning failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
