public import Foundation

/// What an SLA measures on a case.
public enum SLAMetric: String, Sendable, Hashable, CaseIterable {
    /// From opening until an agent first works on the case.
    case firstResponse = "first_response"
    /// From opening until the case is resolved; paused while waiting on the customer.
    case resolution
}

public enum SLAState: String, Sendable, Hashable {
    case inProgress = "in_progress"
    case warning
    case paused
    case met
    case breached
    case cancelled
}

/// Something an SLA clock asks for, once: the case service escalates and publishes an event for
/// each, in the same transaction that records that it fired.
public enum SLAAction: Sendable, Hashable {
    case warning(SLAMetric)
    case breach(SLAMetric)
}

/// One SLA instance of a case, as a value: a target in business minutes, pauses kept append-only,
/// and whether the warning and the breach have fired. Persisted whole with its case, so that an
/// action that fired before a restart never fires again.
///
/// Time counts only inside the calendar's working hours and outside pauses.
public struct SLAClock: Sendable, Hashable {
    public struct Pause: Sendable, Hashable {
        public var start: Date
        public var end: Date?
    }

    public let metric: SLAMetric
    public let startedAt: Date
    public private(set) var targetMinutes: Int
    /// The share of the target (percent) at which the warning fires.
    public private(set) var warningPercent: Int
    public private(set) var pauses: [Pause] = []
    public private(set) var stoppedAt: Date?
    public private(set) var state: SLAState = .inProgress
    public private(set) var warningFired = false
    public private(set) var breachFired = false

    public init(metric: SLAMetric, startedAt: Date, targetMinutes: Int, warningPercent: Int) {
        self.metric = metric
        self.startedAt = startedAt
        self.targetMinutes = targetMinutes
        self.warningPercent = warningPercent
    }

    /// Restores a persisted clock.
    public init(
        metric: SLAMetric, startedAt: Date, targetMinutes: Int, warningPercent: Int, pauses: [Pause], stoppedAt: Date?, state: SLAState,
        warningFired: Bool, breachFired: Bool
    ) {
        self.init(metric: metric, startedAt: startedAt, targetMinutes: targetMinutes, warningPercent: warningPercent)
        self.pauses = pauses
        self.stoppedAt = stoppedAt
        self.state = state
        self.warningFired = warningFired
        self.breachFired = breachFired
    }

    public var isRunning: Bool { state == .inProgress || state == .warning }
    public var isOpen: Bool { stoppedAt == nil && state != .cancelled }
    public var isPaused: Bool { pauses.last.map { $0.end == nil } ?? false }

    /// Business seconds counted so far: from the start to `now` (or to when it stopped), less the
    /// business seconds inside pauses.
    public func elapsedSeconds(at now: Date, in calendar: BusinessCalendar) -> Double {
        let end = stoppedAt.map { min($0, now) } ?? now
        var total = 0.0
        var from = startedAt
        for pause in pauses {
            total += calendar.businessSeconds(from: from, to: min(pause.start, end))
            guard let resumed = pause.end, resumed < end else { return total }
            from = resumed
        }
        return total + calendar.businessSeconds(from: from, to: end)
    }

    /// When the target falls due if nothing pauses it again; nil while paused or once stopped.
    public func dueAt(in calendar: BusinessCalendar) -> Date? {
        instant(whenCounted: Double(targetMinutes * 60), in: calendar)
    }

    /// When the warning falls due (see ``dueAt(in:)``).
    public func warningAt(in calendar: BusinessCalendar) -> Date? {
        instant(whenCounted: Double(warningSeconds), in: calendar)
    }

    /// The instant the clock reaches `seconds` of counted time, if it keeps running from its last
    /// start or resume.
    private func instant(whenCounted seconds: Double, in calendar: BusinessCalendar) -> Date? {
        guard isOpen, !isPaused else { return nil }
        let from = pauses.last?.end ?? startedAt
        let left = seconds - elapsedSeconds(at: from, in: calendar)
        return calendar.adding(seconds: max(left, 0), to: from)
    }

    private var warningSeconds: Int { targetMinutes * 60 * warningPercent / 100 }

    // MARK: Changes

    /// Stops counting (the case waits on the customer). Pausing a paused or stopped clock does nothing.
    public mutating func pause(at instant: Date) {
        guard isOpen, !isPaused else { return }
        pauses.append(Pause(start: instant, end: nil))
        state = .paused
    }

    /// Counts again; what the clock had reached before the pause is kept. Returns the actions that
    /// fire now (a target lowered while paused may already be passed).
    @discardableResult
    public mutating func resume(at instant: Date, in calendar: BusinessCalendar) -> [SLAAction] {
        guard isOpen, isPaused else { return [] }
        pauses[pauses.count - 1].end = max(instant, pauses[pauses.count - 1].start)
        state = .inProgress
        return evaluateState(at: instant, in: calendar)
    }

    /// The measured event happened (first response given, case resolved): met, or breached. A
    /// breach no sweep has fired yet (the target passed since the last one) fires now, so that it
    /// is never missed; a pending warning does not, as there is nothing left to warn about.
    @discardableResult
    public mutating func stop(at instant: Date, in calendar: BusinessCalendar) -> [SLAAction] {
        guard isOpen else { return [] }
        if isPaused { pauses[pauses.count - 1].end = instant }
        stoppedAt = instant
        guard elapsedSeconds(at: instant, in: calendar) > Double(targetMinutes * 60) || breachFired else {
            state = .met
            return []
        }
        state = .breached
        guard !breachFired else { return [] }
        breachFired = true
        return [.breach(metric)]
    }

    /// The case was cancelled: the clock no longer counts and never fires.
    public mutating func cancel(at instant: Date) {
        guard isOpen else { return }
        if isPaused { pauses[pauses.count - 1].end = instant }
        stoppedAt = instant
        state = .cancelled
    }

    /// A new target (the customer's grade changed and the policy says so): time already counted
    /// stays counted; a warning or breach already fired stays fired.
    public mutating func retarget(minutes: Int, warningPercent: Int) {
        guard isOpen else { return }
        targetMinutes = minutes
        self.warningPercent = warningPercent
    }

    /// Brings the state up to `now` and returns the actions that fire now: each at most once in
    /// the clock's life, whatever the order or number of evaluations.
    public mutating func evaluate(at now: Date, in calendar: BusinessCalendar) -> [SLAAction] {
        guard isOpen, !isPaused else { return [] }
        return evaluateState(at: now, in: calendar)
    }

    private mutating func evaluateState(at now: Date, in calendar: BusinessCalendar) -> [SLAAction] {
        let elapsed = elapsedSeconds(at: now, in: calendar)
        var actions: [SLAAction] = []
        if elapsed >= Double(warningSeconds), !warningFired {
            warningFired = true
            actions.append(.warning(metric))
        }
        if elapsed >= Double(targetMinutes * 60), !breachFired {
            breachFired = true
            actions.append(.breach(metric))
        }
        state = breachFired ? .breached : warningFired ? .warning : .inProgress
        return actions
    }
}
