public import Foundation

/// Where a case is in its life.
public enum CaseStatus: String, Sendable, Hashable, CaseIterable {
    case new
    case assigned
    case inProgress = "in_progress"
    case waitingOnCustomer = "waiting_on_customer"
    case resolved
    case closed
    case cancelled
}

/// What someone does to a case.
public enum CaseEvent: String, Sendable, Hashable, CaseIterable {
    case assign
    case start
    case waitOnCustomer = "wait_on_customer"
    case customerResponded = "customer_responded"
    case resolve
    case close
    case reopen
    case cancel
}

/// The case life cycle as a value: new -> assigned -> in_progress <-> waiting_on_customer ->
/// resolved -> closed; reopen within a window; cancel before resolution. Given a status and an
/// event it answers the next status, or refuses naming the events the status allows.
///
/// What a transition does to the SLA clocks is part of the answer, so that the handler applies it
/// in the same transaction: the first response is given when work starts, waiting on the customer
/// pauses the resolution clock, resolving stops it, reopening starts a new one, cancelling cancels all.
public struct CaseStateMachine: Sendable {
    /// How long after closing a case may be reopened.
    public var reopenWindow: TimeInterval

    public init(reopenWindow: TimeInterval = 30 * 86_400) {
        self.reopenWindow = reopenWindow
    }

    public enum ClockEffect: Sendable, Hashable {
        case stop(SLAMetric)
        case pause(SLAMetric)
        case resume(SLAMetric)
        /// A new resolution clock (reopen).
        case restartResolution
        case cancelAll
    }

    public struct Transition: Sendable, Hashable {
        public var from: CaseStatus
        public var to: CaseStatus
        public var clocks: [ClockEffect]
    }

    /// The events each status allows (reassigning keeps the status).
    public static let allowed: [CaseStatus: [CaseEvent]] = [
        .new: [.assign, .cancel],
        .assigned: [.assign, .start, .cancel],
        .inProgress: [.assign, .waitOnCustomer, .resolve, .cancel],
        .waitingOnCustomer: [.assign, .customerResponded, .resolve, .cancel],
        .resolved: [.close, .reopen],
        .closed: [.reopen],
        .cancelled: [],
    ]

    /// The transition `event` makes from `status`, or a refusal naming the allowed events.
    ///
    /// - Parameters:
    ///   - closedAt: when the case closed (for the reopen window).
    public func apply(_ event: CaseEvent, to status: CaseStatus, closedAt: Date? = nil, now: Date) -> Result<Transition, CaseTransitionError> {
        guard Self.allowed[status, default: []].contains(event) else {
            return .failure(.notAllowed(event: event, status: status, allowed: Self.allowed[status, default: []]))
        }
        switch (event, status) {
        case (.assign, .new):
            return .success(Transition(from: status, to: .assigned, clocks: []))
        case (.assign, _):
            return .success(Transition(from: status, to: status, clocks: []))
        case (.start, _):
            return .success(Transition(from: status, to: .inProgress, clocks: [.stop(.firstResponse)]))
        case (.waitOnCustomer, _):
            return .success(Transition(from: status, to: .waitingOnCustomer, clocks: [.pause(.resolution)]))
        case (.customerResponded, _):
            return .success(Transition(from: status, to: .inProgress, clocks: [.resume(.resolution)]))
        case (.resolve, _):
            return .success(Transition(from: status, to: .resolved, clocks: [.stop(.firstResponse), .stop(.resolution)]))
        case (.close, _):
            return .success(Transition(from: status, to: .closed, clocks: []))
        case (.reopen, .closed):
            guard let closedAt, now.timeIntervalSince(closedAt) <= reopenWindow else {
                return .failure(.reopenWindowPassed(days: Int(reopenWindow / 86_400)))
            }
            return .success(Transition(from: status, to: .inProgress, clocks: [.restartResolution]))
        case (.reopen, _):
            return .success(Transition(from: status, to: .inProgress, clocks: [.restartResolution]))
        case (.cancel, _):
            return .success(Transition(from: status, to: .cancelled, clocks: [.cancelAll]))
        }
    }
}

public enum CaseTransitionError: Error, Sendable, Hashable, CustomStringConvertible {
    case notAllowed(event: CaseEvent, status: CaseStatus, allowed: [CaseEvent])
    case reopenWindowPassed(days: Int)

    public var description: String {
        switch self {
        case .notAllowed(let event, let status, let allowed):
            let names = allowed.map(\.rawValue).joined(separator: ", ")
            return "a case that is \(status.rawValue) cannot \(event.rawValue); allowed: \(allowed.isEmpty ? "nothing (final)" : names)"
        case .reopenWindowPassed(let days):
            return "the case closed more than \(days) days ago and can no longer be reopened"
        }
    }
}
