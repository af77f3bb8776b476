internal import WireProtocol
internal import CRMAPI

/// Checks one account holding from the core banking feed. A bad holding is rejected on its own
/// (the rest of the batch goes on), so problems come back as (field, problem), not as a thrown error.
struct HoldingValidator {
    var today: CalendarDate

    struct Rejection: Error {
        var field: String
        var problem: String
    }

    func validated(_ input: Crm_Customer_V1_AccountHolding) -> Result<Crm_Customer_V1_AccountHolding, Rejection> {
        var holding = input
        func reject(_ field: String, _ problem: String) -> Result<Crm_Customer_V1_AccountHolding, Rejection> {
            .failure(Rejection(field: field, problem: problem))
        }
        holding.accountNumber = DocumentNumbers.normalize(input.accountNumber)
        let number = holding.accountNumber.unicodeScalars
        guard (6...34).contains(number.count), number.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) }) else {
            return reject("accountNumber", "must be 6 to 34 letters and digits")
        }
        guard CustomerRecords.key(fromID: input.customerID) != nil else { return reject("customerId", "must be C followed by 10 digits") }
        switch input.productType {
        case .unspecified: return reject("productType", "is required")
        case .UNRECOGNIZED: return reject("productType", "is not a known value")
        default: break
        }
        switch input.role {
        case .unspecified: return reject("role", "is required")
        case .UNRECOGNIZED: return reject("role", "is not a known value")
        default: break
        }
        guard input.balanceMinor >= 0 else { return reject("balanceMinor", "must not be negative (a loan's balance is what is owed)") }
        holding.currency = input.currency.uppercased()
        guard holding.currency.unicodeScalars.count == 3, holding.currency.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) else {
            return reject("currency", "must be an ISO 4217 code such as CNY")
        }
        if holding.currency == "CNY" {
            guard input.reportingBalanceMinor == 0 || input.reportingBalanceMinor == input.balanceMinor else {
                return reject("reportingBalanceMinor", "must equal balanceMinor (or be 0) for CNY")
            }
            holding.reportingBalanceMinor = input.balanceMinor
        } else {
            guard input.reportingBalanceMinor >= 0 else { return reject("reportingBalanceMinor", "must not be negative") }
            guard input.balanceMinor == 0 || input.reportingBalanceMinor > 0 else {
                return reject("reportingBalanceMinor", "is required for a balance in \(holding.currency)")
            }
        }
        guard let opened = CalendarDate(iso: input.openedOn) else { return reject("openedOn", "must be a real date written YYYY-MM-DD") }
        guard opened <= today else { return reject("openedOn", "must not be in the future") }
        if !input.closedOn.isEmpty {
            guard let closed = CalendarDate(iso: input.closedOn) else { return reject("closedOn", "must be a real date written YYYY-MM-DD") }
            guard closed >= opened, closed <= today else { return reject("closedOn", "must be between openedOn and today") }
        }
        if input.productType == .timeDeposit || !input.maturityDate.isEmpty {
            guard let maturity = CalendarDate(iso: input.maturityDate) else {
                return reject("maturityDate", input.maturityDate.isEmpty ? "is required for a time deposit" : "must be a real date written YYYY-MM-DD")
            }
            guard maturity > opened else { return reject("maturityDate", "must be after openedOn") }
        }
        guard abs(input.monthlyContributionMinor) <= 1_000_000_000_000 else {
            return reject("monthlyContributionMinor", "is beyond 10 billion CNY a month")
        }
        guard input.balanceMinor <= 100_000_000_000_000, holding.reportingBalanceMinor <= 100_000_000_000_000 else {
            return reject("balanceMinor", "is beyond 1 trillion")
        }
        return .success(holding)
    }
}
