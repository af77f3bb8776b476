internal import Foundation
internal import Histogram
internal import NIOCore
internal import WireProtocol

/// Round-trip latencies in microseconds (HdrHistogram, 3 significant digits), failures by error
/// code, and the run's length.
struct LatencyRecorder: Sendable {
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    var elapsed: TimeAmount = .zero
    /// Failed calls by the code of their error (`RPCError.code`; anything else by its type).
    var errorsByCode: [String: Int] = [:]

    var errors: Int { errorsByCode.values.reduce(0, +) }

    mutating func record(_ latency: TimeAmount) {
        _ = histogram.record(UInt64(max(latency.nanoseconds / 1000, 1)))
    }

    mutating func recordFailure(_ error: any Error) {
        errorsByCode[Self.code(of: error), default: 0] += 1
    }

    static func code(of error: any Error) -> String {
        if let error = error as? RPCError { return "\(error.code)" }
        return "\(type(of: error))"
    }

    mutating func merge(_ other: LatencyRecorder) {
        histogram.add(other.histogram)
        errorsByCode.merge(other.errorsByCode, uniquingKeysWith: +)
        elapsed = max(elapsed, other.elapsed)
    }

    var count: UInt64 { histogram.totalCount }
    var throughput: Double { Double(count) / (Double(elapsed.nanoseconds) / 1e9) }
    func percentile(_ p: Double) -> UInt64 { histogram.valueAtPercentile(p) }
    var maximum: UInt64 { histogram.max }

    /// `| label | in flight | req/s | p50 us | p99 us | p99.9 us | max us | errors |`, the row the
    /// older tables in the history of docs/BENCHMARKS.md use.
    func markdownRow(_ label: String, inFlight: Int) -> String {
        String(
            format: "| %@ | %d | %.0f | %d | %d | %d | %d | %d |", label as NSString, inFlight, throughput,
            percentile(50), percentile(99), percentile(99.9), maximum, errors)
    }
}
