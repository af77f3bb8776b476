internal import GRDB
public import Logging
public import ServiceRuntime
public import CRMAPI

/// Runs the relationship event generator (``TaskBook/generate(_:)``) at start and then every hour,
/// in one write transaction each: tasks are unique per occurrence, so a run repeated after a crash or
/// a restart makes nothing twice.
public enum RelationshipEventGenerator {
    public static func job(store: Store, tasks: TaskBook, interval: Duration = .seconds(3_600), logger: Logger) -> PeriodicJob {
        PeriodicJob(name: "relationship event generation", interval: interval, logger: logger) {
            let made = try await store.write { db in try tasks.generate(db) }
            if made.birthdayTasks + made.reactivationTasks + made.maturityTasks > 0 {
                logger.notice(
                    "relationship events",
                    metadata: ["birthdays": "\(made.birthdayTasks)", "reactivations": "\(made.reactivationTasks)", "maturities": "\(made.maturityTasks)"])
            }
        }
    }
}
