internal import GRDB
public import Logging
public import ServiceLifecycle
public import ServiceRuntime

/// Runs the relationship event generator (``TaskBook/generate(_:)``) at start and then every hour,
/// in one write transaction each: tasks are unique per occurrence, so a run repeated after a crash or
/// a restart makes nothing twice.
public struct RelationshipEventGenerator: Service {
    let store: Store
    let tasks: TaskBook
    let interval: Duration
    let logger: Logger

    public init(store: Store, tasks: TaskBook, interval: Duration = .seconds(3_600), logger: Logger) {
        self.store = store
        self.tasks = tasks
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let made = try await store.pool.write { db in try tasks.generate(db) }
                    if made.birthdayTasks + made.reactivationTasks > 0 {
                        logger.notice(
                            "relationship events", metadata: ["birthdays": "\(made.birthdayTasks)", "reactivations": "\(made.reactivationTasks)"])
                    }
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("relationship event generation failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
