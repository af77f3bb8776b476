internal import Foundation
public import Logging
public import ServiceLifecycle
internal import NIOConcurrencyHelpers

#if canImport(Glibc)
internal import Glibc
#endif

/// Tells systemd the truth about the server's state over `$NOTIFY_SOCKET` (sd_notify(3)): READY=1
/// once migrations ran and the listener is up, WATCHDOG=1 while the event loops and the database
/// answer, STOPPING=1 when the drain begins. Without `$NOTIFY_SOCKET` (not started by systemd with
/// Type=notify) it does nothing.
public struct SystemdNotifier: Sendable {
    let socketPath: String

    /// - Parameter environment: the process environment (nil: this process's).
    public init?(environment: [String: String]? = nil) {
        let environment = environment ?? ProcessInfo.processInfo.environment
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.utf8.count < 108 else { return nil }
        socketPath = path
    }

    /// Sends one datagram of `KEY=VALUE` lines. Failures are ignored: a notification lost is not a
    /// reason to stop serving (systemd's timeouts handle a silent service).
    public func notify(_ state: String) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        // A leading "@" names an abstract socket: a NUL byte first.
        var pathBytes = Array(socketPath.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in pathBytes.enumerated() where index < buffer.count { buffer[index] = byte }
        }
        let length = socklen_t(MemoryLayout.offset(of: \sockaddr_un.sun_path)! + pathBytes.count)
        let message = Array(state.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                message.withUnsafeBytes { bytes in sendto(fd, bytes.baseAddress, bytes.count, 0, socketAddress, length) }
            }
        }
    }

    /// Half of `$WATCHDOG_USEC`, as sd_watchdog_enabled(3) advises; nil when no watchdog is set.
    public static func watchdogInterval(environment: [String: String]? = nil) -> Duration? {
        let environment = environment ?? ProcessInfo.processInfo.environment
        guard let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 else { return nil }
        return .microseconds(microseconds / 2)
    }
}

/// Runs beside the server: READY=1 once it listens, WATCHDOG=1 every interval while `healthy`
/// answers in time, STOPPING=1 when graceful shutdown begins.
public struct SystemdLifecycle: Service {
    let notifier: SystemdNotifier
    let watchdogInterval: Duration?
    /// Completes once the server listens.
    let ready: @Sendable () async throws -> Void
    /// Returns only if the event loops and the database answer; a stall makes the pings stop.
    let healthy: @Sendable () async throws -> Void
    let logger: Logger

    public init(
        notifier: SystemdNotifier, watchdogInterval: Duration?, ready: @escaping @Sendable () async throws -> Void,
        healthy: @escaping @Sendable () async throws -> Void, logger: Logger
    ) {
        self.notifier = notifier
        self.watchdogInterval = watchdogInterval
        self.ready = ready
        self.healthy = healthy
        self.logger = logger
    }

    public func run() async throws {
        try await ready()
        notifier.notify("READY=1\nSTATUS=serving\nMAINPID=\(getpid())")
        // STOPPING=1 is the last word: a ping whose health check was still running when the drain
        // began is not sent after it.
        let stopping = NIOLockedValueBox(false)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Wait for the drain to begin, then say so at once.
                try? await gracefulShutdown()
                stopping.withLockedValue { stopping in
                    stopping = true
                    notifier.notify("STOPPING=1\nSTATUS=draining")
                }
            }
            if let watchdogInterval {
                group.addTask {
                    await cancelWhenGracefulShutdown {
                        while !Task.isCancelled {
                            do {
                                try await healthy()
                                stopping.withLockedValue { stopping in
                                    if !stopping { notifier.notify("WATCHDOG=1") }
                                }
                            } catch {
                                logger.warning("health check failed; not pinging the watchdog", metadata: ["error": "\(error)"])
                            }
                            try? await Task.sleep(for: watchdogInterval)
                        }
                    }
                }
            }
        }
    }
}
