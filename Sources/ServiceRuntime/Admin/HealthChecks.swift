internal import NIOCore
internal import NIOPosix

/// The checks behind readiness and the systemd watchdog: each fails if its part of the server does
/// not answer within a second, so that a stalled event loop or database stops both.
public enum HealthChecks {
    /// An event loop runs a task.
    public static func eventLoopAnswers() async throws {
        do {
            try await withDeadline(.seconds(1)) { try await MultiThreadedEventLoopGroup.singleton.next().submit {}.get() }
        } catch is HealthCheckTimeout {
            throw NotReady("the event loops did not answer within 1 s")
        }
    }

    /// The database gives its write lock (another process or a stuck transaction holding it is a stall).
    public static func databaseWritable(_ store: Store) async throws {
        do {
            try await withDeadline(.seconds(1)) { try await store.probeWriter() }
        } catch is HealthCheckTimeout {
            throw NotReady("the database write lock was not free within 1 s")
        } catch {
            throw NotReady("the database cannot be written: \(error)")
        }
    }
}

/// Why a server is not ready, in words for an operator.
public struct NotReady: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
