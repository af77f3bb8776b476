internal import GRDB
public import Logging
public import ServiceRuntime

/// Evaluates the SLA clocks that are due, on a fixed interval, in batches of one write
/// transaction each: the clock's new state, the escalation and the event commit together, so an
/// action fires once even if the process dies between batches.
public enum SLASweeper {
    public static func job(store: Store, desk: CaseDesk, interval: Duration = .seconds(15), logger: Logger) -> PeriodicJob {
        PeriodicJob(name: "sla sweep", interval: interval, logger: logger) {
            let result = try await sweepAll(store: store, desk: desk)
            if result.warnings + result.breaches > 0 {
                logger.notice("sla sweep", metadata: ["warnings": "\(result.warnings)", "breaches": "\(result.breaches)"])
            }
        }
    }

    /// Every due clock, 1,000 per transaction.
    public static func sweepAll(store: Store, desk: CaseDesk) async throws -> CaseDesk.SweepResult {
        var total = CaseDesk.SweepResult()
        while true {
            try Task.checkCancellation()
            let batch = try await store.write { db in try desk.sweep(limit: 1_000, db) }
            total.checked += batch.checked
            total.warnings += batch.warnings
            total.breaches += batch.breaches
            // A full batch that fired nothing would only come back the same: leave it to the next round.
            if batch.checked < 1_000 || batch.warnings + batch.breaches == 0 { return total }
        }
    }
}
