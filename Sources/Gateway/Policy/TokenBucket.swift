/// A token bucket: `ratePerSecond` tokens a second, holding at most `burst`. A value type that is
/// told the time, so tests drive it without sleeping.
public struct TokenBucket: Sendable, Equatable {
    public let ratePerSecond: Double
    public let burst: Double
    private var tokens: Double
    private var updatedAt: Duration

    /// Starts full at `now` (a monotonic reading, e.g. `ContinuousClock.now - start`).
    public init(ratePerSecond: Double, burst: Double, now: Duration) {
        self.ratePerSecond = ratePerSecond
        self.burst = burst
        self.tokens = burst
        self.updatedAt = now
    }

    public enum Decision: Sendable, Equatable {
        case allowed
        /// Refused; a token is due after this many milliseconds.
        case refused(retryAfterMilliseconds: UInt32)
    }

    /// Takes one token if there is one.
    public mutating func take(now: Duration) -> Decision {
        refill(now: now)
        if tokens >= 1 {
            tokens -= 1
            return .allowed
        }
        let seconds = (1 - tokens) / ratePerSecond
        return .refused(retryAfterMilliseconds: UInt32(min((seconds * 1000).rounded(.up), Double(UInt32.max))))
    }

    private mutating func refill(now: Duration) {
        guard now > updatedAt else { return }
        let elapsed = Double((now - updatedAt).components.seconds) + Double((now - updatedAt).components.attoseconds) / 1e18
        tokens = min(burst, tokens + elapsed * ratePerSecond)
        updatedAt = now
    }
}
