public import Logging

/// Copies WAL pages into the database in the background, every 100 ms, on the store's own
/// checkpoint connection (``Store/checkpoint()``), so that the automatic checkpoint SQLite runs
/// inside the commit that crosses 1,000 WAL pages (and that every write queued behind that commit
/// waits for) finds little left to copy.
public enum WALCheckpointer {
    public static func job(store: Store, interval: Duration = .milliseconds(100), logger: Logger) -> PeriodicJob {
        PeriodicJob(name: "WAL checkpoint", interval: interval, logger: logger) {
            try await store.checkpoint()
        }
    }
}
