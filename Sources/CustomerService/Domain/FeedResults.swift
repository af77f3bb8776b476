internal import WireProtocol
internal import CRMAPI

/// The answer of a bulk feed from another system (holdings, agreements): one result per item in
/// request order, each item accepted or rejected on its own, and the counts.
struct FeedResults {
    var results: [Crm_Customer_V1_HoldingResult] = []
    var created: UInt32 = 0
    var updated: UInt32 = 0
    var unchanged: UInt32 = 0
    var rejected: UInt32 = 0

    /// Runs one item. `body` may normalise the item's number in the result and returns the
    /// outcome; a ``HoldingValidator/Rejection`` it throws rejects just this item, named
    /// `collection[index].field`. Other errors end the whole call.
    mutating func run(
        _ collection: String, index: Int, number: String, customerID: String,
        _ body: (inout Crm_Customer_V1_HoldingResult) throws -> Crm_Customer_V1_HoldingResult.Outcome
    ) throws {
        var result = Crm_Customer_V1_HoldingResult()
        result.accountNumber = number
        result.customerID = customerID
        do {
            result.outcome = try body(&result)
        } catch let rejection as HoldingValidator.Rejection {
            result.outcome = .rejected
            result.field = "\(collection)[\(index)].\(rejection.field)"
            result.problem = rejection.problem
        }
        switch result.outcome {
        case .created: created += 1
        case .updated: updated += 1
        case .unchanged: unchanged += 1
        default: rejected += 1
        }
        results.append(result)
    }
}
