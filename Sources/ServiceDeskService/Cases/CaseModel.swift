internal import Foundation
internal import WireProtocol
internal import CRMAPI

/// Mapping between the domain's value types and the protocol's enums, in one place.
extension CaseStatus {
    var proto: Crm_Servicedesk_V1_CaseStatus {
        switch self {
        case .new: .new
        case .assigned: .assigned
        case .inProgress: .inProgress
        case .waitingOnCustomer: .waitingOnCustomer
        case .resolved: .resolved
        case .closed: .closed
        case .cancelled: .cancelled
        }
    }

    var isFinished: Bool { self == .resolved || self == .closed || self == .cancelled }
}

extension CaseEvent {
    init?(_ proto: Crm_Servicedesk_V1_CaseEvent) {
        switch proto {
        case .assign: self = .assign
        case .start: self = .start
        case .waitOnCustomer: self = .waitOnCustomer
        case .customerResponded: self = .customerResponded
        case .resolve: self = .resolve
        case .close: self = .close
        case .reopen: self = .reopen
        case .cancel: self = .cancel
        case .unspecified, .escalate, .UNRECOGNIZED: return nil
        }
    }

    var proto: Crm_Servicedesk_V1_CaseEvent {
        switch self {
        case .assign: .assign
        case .start: .start
        case .waitOnCustomer: .waitOnCustomer
        case .customerResponded: .customerResponded
        case .resolve: .resolve
        case .close: .close
        case .reopen: .reopen
        case .cancel: .cancel
        }
    }
}

extension SLAMetric {
    var proto: Crm_Servicedesk_V1_SlaMetric { self == .firstResponse ? .firstResponse : .resolution }
}

extension SLAState {
    var proto: Crm_Servicedesk_V1_SlaState {
        switch self {
        case .inProgress: .inProgress
        case .warning: .warning
        case .paused: .paused
        case .met: .met
        case .breached: .breached
        case .cancelled: .cancelled
        }
    }
}

extension Date {
    var milliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
    init(milliseconds: Int64) { self.init(timeIntervalSince1970: Double(milliseconds) / 1000) }
}

/// The SLA targets for one (kind, priority, grade).
struct SLATargets: Sendable, Hashable {
    var firstResponseMinutes: Int
    var resolutionMinutes: Int
    var warningPercent: Int

    func minutes(for metric: SLAMetric) -> Int { metric == .firstResponse ? firstResponseMinutes : resolutionMinutes }

    /// Used when no policy row applies: 4 business hours to first response, 5 business days (of
    /// 8 hours) to resolution, warning at 80%.
    static let fallback = SLATargets(firstResponseMinutes: 240, resolutionMinutes: 2_400, warningPercent: 80)
}
