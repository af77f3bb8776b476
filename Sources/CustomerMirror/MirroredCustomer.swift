public import WireProtocol
public import CRMAPI

/// The rule every service with a customer mirror applies before it attaches something new (a case,
/// an opportunity) to a customer: the customer must have arrived through the customer feed, and
/// not be merged away or erased. A deactivated customer is allowed (former customers complain and
/// are won back).
public enum MirroredCustomer {
    /// Throws NOT_FOUND (CUSTOMER_NOT_FOUND) when `mirrored` is nil, FAILED_PRECONDITION
    /// CUSTOMER_MERGED (details.merged_into_id) or CUSTOMER_ERASED.
    ///
    /// - Parameters:
    ///   - service: the mirror's owner, for the message ("ServiceDesk").
    ///   - thing: what was being attached, for the message ("the case").
    public static func checkUsable(
        _ id: String, mirrored: (status: Crm_Customer_V1_CustomerStatus, mergedIntoID: String)?, service: String, thing: String
    ) throws {
        guard let mirrored else {
            throw RPCError(
                code: .notFound, message: "no customer \(id) in \(service)'s copy of the customer feed (a new customer arrives within seconds)",
                reason: .customerNotFound, processing: .notProcessed)
        }
        switch mirrored.status {
        case .merged:
            throw RPCError(
                code: .failedPrecondition, message: "customer \(id) was merged into \(mirrored.mergedIntoID); use \(mirrored.mergedIntoID) for \(thing)",
                reason: .customerMerged, processing: .notProcessed, details: ["merged_into_id": mirrored.mergedIntoID])
        case .erased:
            throw RPCError(code: .failedPrecondition, message: "customer \(id) was erased", reason: .customerErased, processing: .notProcessed)
        default:
            return
        }
    }
}
