public import WireProtocol
public import CRMAPI

/// The sales pipeline as a value: lead -> qualified -> proposal -> negotiation -> won, lost from any
/// open stage (a proposal may be won without negotiating). Given a stage and a target it answers
/// whether the move is allowed, or the stages that are.
public enum OpportunityStage: Int, Sendable, Hashable, CaseIterable {
    case lead = 1
    case qualified = 2
    case proposal = 3
    case negotiation = 4
    case won = 5
    case lost = 6

    public init?(_ proto: Crm_Marketing_V1_OpportunityStage) {
        self.init(rawValue: proto.rawValue)
    }

    public var proto: Crm_Marketing_V1_OpportunityStage { Crm_Marketing_V1_OpportunityStage(rawValue: rawValue) ?? .unspecified }

    public var name: String {
        switch self {
        case .lead: "lead"
        case .qualified: "qualified"
        case .proposal: "proposal"
        case .negotiation: "negotiation"
        case .won: "won"
        case .lost: "lost"
        }
    }

    public var isOpen: Bool { self != .won && self != .lost }

    /// The stages an opportunity at this one may move to.
    public var next: [OpportunityStage] {
        switch self {
        case .lead: [.qualified, .lost]
        case .qualified: [.proposal, .lost]
        case .proposal: [.negotiation, .won, .lost]
        case .negotiation: [.won, .lost]
        case .won, .lost: []
        }
    }

    /// Used until SetStageProbabilities sets others.
    public static let defaultProbabilities: [OpportunityStage: Int] = [.lead: 10, .qualified: 25, .proposal: 50, .negotiation: 75]

    /// A closed stage's fixed probability; nil for an open one (configurable).
    public var fixedProbability: Int? {
        switch self {
        case .won: 100
        case .lost: 0
        default: nil
        }
    }

    /// `amount` weighted by `percent`, rounded half up (amounts are at most 10^13, so no overflow).
    public static func weighted(_ amount: Int64, percent: Int) -> Int64 { (amount * Int64(percent) + 50) / 100 }
}
