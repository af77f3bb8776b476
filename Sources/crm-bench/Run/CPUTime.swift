internal import CoreFoundation
internal import Glibc

/// The CPU time this process spends, all threads together (`CLOCK_PROCESS_CPUTIME_ID`).
///
/// Why: on a virtual machine whose host lends its cores to other guests, a run's throughput can
/// fall by half from one minute to the next (steal time, `vmstat`'s `st` column), while the CPU
/// that each call costs the process stays close to constant. Benchmarks that run client and
/// server in one process report both.
enum CPUTime {
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Runs `body` and returns its result with the process CPU seconds spent meanwhile.
    static func measure<T>(_ body: () async throws -> T) async rethrows -> (value: T, cpuSeconds: Double) {
        let start = now()
        let result = try await body()
        return (result, now() - start)
    }
}
