internal import Foundation
internal import GRDB
public import Logging

/// Prunes a producer's change log once a minute: events every registered consumer acknowledged
/// and older than the retention window go (``ChangeLog/prune(retentionMilliseconds:nowMilliseconds:_:)``).
/// With no registered consumer nothing is pruned.
public enum ChangeLogPruner {
    public static func job(store: Store, retention: Duration, interval: Duration = .seconds(60), logger: Logger) -> PeriodicJob {
        let retentionMilliseconds = Int64(retention / .milliseconds(1))
        return PeriodicJob(name: "change log pruning", interval: interval, logger: logger) {
            let deleted = try await store.write { db in
                try ChangeLog.prune(retentionMilliseconds: retentionMilliseconds, nowMilliseconds: FeedHandlers.nowMilliseconds(), db)
            }
            if deleted > 0 { logger.info("change log pruned", metadata: ["events": "\(deleted)"]) }
        }
    }
}
