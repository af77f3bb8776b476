public import SwiftProtobuf

extension Google_Protobuf_Timestamp {
    /// The instant `milliseconds` after 1970-01-01T00:00:00Z, as the stores keep it.
    public init(milliseconds: Int64) {
        self.init()
        self.milliseconds = milliseconds
    }

    /// The instant in milliseconds since 1970 (an absent timestamp is 0). Out-of-range seconds or
    /// nanos from a peer saturate instead of trapping; validation refuses them where it matters.
    public var milliseconds: Int64 {
        get {
            let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1000)
            guard !overflow else { return seconds < 0 ? .min : .max }
            let (total, overflowAdding) = scaled.addingReportingOverflow(Int64(nanos / 1_000_000))
            return overflowAdding ? (scaled < 0 ? .min : .max) : total
        }
        set {
            // Floor division, so that nanos stay in 0..<1e9 for instants before 1970.
            var (quotient, remainder) = newValue.quotientAndRemainder(dividingBy: 1000)
            if remainder < 0 {
                quotient -= 1
                remainder += 1000
            }
            seconds = quotient
            nanos = Int32(remainder) * 1_000_000
        }
    }
}
