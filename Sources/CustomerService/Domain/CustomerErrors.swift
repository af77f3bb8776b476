internal import WireProtocol
internal import CRMAPI
internal import ServiceRuntime

/// The errors CustomerService answers with. Codes and reasons are stable; callers may switch on them.
enum CustomerErrors {
    static func invalidID(_ field: String, _ id: String) -> RPCError {
        RPCError(
            code: .invalidArgument, message: "\(field) must be C followed by 10 digits", reason: .invalidField,
            processing: .notProcessed, fieldViolations: [.init(field: field, description: "must be C followed by 10 digits")])
    }

    static func notFound(_ id: String) -> RPCError {
        RPCError(code: .notFound, message: "no customer \(id)", reason: .customerNotFound, processing: .notProcessed)
    }

    static func staleVersion(_ id: String, expected: Int64, current: Int64) -> RPCError {
        RPCError(
            code: .aborted, message: "customer \(id) is at version \(current), not \(expected); read it again and retry",
            reason: .staleVersion, processing: .notProcessed, details: ["current_version": String(current)])
    }

    static func duplicateDocument(field: String, holder: String) -> RPCError {
        RPCError(
            code: .alreadyExists, message: "\(field) is already held by customer \(holder)", reason: .duplicateDocument,
            processing: .notProcessed, fieldViolations: [.init(field: field, description: "already held by \(holder)")],
            details: ["existing_customer_id": holder])
    }

    static func wrongStatus(_ id: String, status: Crm_Customer_V1_CustomerStatus, action: String) -> RPCError {
        RPCError(
            code: .failedPrecondition, message: "customer \(id) is \(status.name) and cannot be \(action)",
            reason: status.refusalReason, processing: .notProcessed, details: ["status": status.name])
    }

    static func permissionDenied(_ what: String) -> RPCError {
        RPCError(code: .permissionDenied, message: what, reason: .roleNotAllowed, processing: .notProcessed)
    }
}

extension Crm_Customer_V1_CustomerStatus {
    /// The reason of a change refused because the customer is in this status.
    var refusalReason: ErrorReason {
        switch self {
        case .active: .customerActive
        case .inactive: .customerInactive
        case .merged: .customerMerged
        case .erased: .customerErased
        // A stored customer always has one of the four.
        case .unspecified, .UNRECOGNIZED: .none
        }
    }

    /// The value's name without its prefix, e.g. `ACTIVE`.
    var name: String {
        switch self {
        case .unspecified: "UNSPECIFIED"
        case .active: "ACTIVE"
        case .inactive: "INACTIVE"
        case .merged: "MERGED"
        case .erased: "ERASED"
        case .UNRECOGNIZED(let value): "STATUS_\(value)"
        }
    }
}
