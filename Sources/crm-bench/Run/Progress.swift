internal import Foundation
internal import NIOCore
internal import Synchronization

/// The live progress line of a measurement on stderr: calls per second over the last second, the
/// worst latency seen in it, and failures so far. On a terminal it rewrites one line; otherwise
/// (a log file, CI) it writes a line every 5 seconds.
final class Progress: Sendable {
    private let label: String
    private let state = Mutex(State())
    private struct State {
        var calls = 0
        var failures = 0
        var worstMicros: Int64 = 0
    }

    init(label: String) { self.label = label }

    func completed(_ latency: TimeAmount) {
        state.withLock { state in
            state.calls += 1
            state.worstMicros = max(state.worstMicros, latency.nanoseconds / 1000)
        }
    }

    func failed() { state.withLock { $0.failures += 1 } }

    /// Prints the line until the task is cancelled.
    func report() async {
        let terminal = isatty(STDERR_FILENO) == 1
        let every = terminal ? 1 : 5
        var seconds = 0
        var total = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(every))
            if Task.isCancelled { break }
            seconds += every
            let (calls, failures, worst) = state.withLock { state in
                defer { (state.calls, state.worstMicros) = (0, 0) }
                return (state.calls, state.failures, state.worstMicros)
            }
            total += calls
            let line = String(
                format: "%@  %3d s  %8.0f calls/s  worst %6.1f ms  done %d  failed %d", label, seconds, Double(calls) / Double(every),
                Double(worst) / 1000, total, failures)
            FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
        }
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    /// Runs `body` with the progress line printed alongside.
    static func showing<T>(_ label: String, _ body: (Progress) async throws -> T) async rethrows -> T {
        let progress = Progress(label: label)
        let printer = Task { await progress.report() }
        defer { printer.cancel() }
        return try await body(progress)
    }
}
