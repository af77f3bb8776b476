#if canImport(Glibc)
internal import Glibc
#endif
public import ServiceLifecycle
internal import UnixSignals

/// Runs `reload` on each SIGHUP, telling systemd (RELOADING=1 with the monotonic time, then READY=1)
/// as `Type=notify-reload` and `systemctl reload` expect.
public struct ReloadOnHangup: Service {
    let reload: @Sendable () async -> Void

    public init(reload: @escaping @Sendable () async -> Void) {
        self.reload = reload
    }

    public func run() async throws {
        let notifier = SystemdNotifier()
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            notifier?.notify("RELOADING=1\nMONOTONIC_USEC=\(Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000)")
            await reload()
            notifier?.notify("READY=1")
        }
    }
}
