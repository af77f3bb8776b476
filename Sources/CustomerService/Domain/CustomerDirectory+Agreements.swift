public import ServiceRuntime
internal import Foundation
public import GRDB
public import WireProtocol
public import CRMAPI

/// Service agreements (e-banking, payroll agency ...) fed by the core and channel systems in bulk,
/// each accepted or rejected on its own like account holdings.
extension CustomerDirectory {
    public static let maxAgreementsPerCall = 1000
    static let maxAgreementsInView = 50

    public func upsertAgreements(
        _ request: Crm_Customer_V1_UpsertAgreementsRequest, caller: Caller, _ db: Database
    ) throws -> Crm_Customer_V1_UpsertAgreementsResponse {
        var problems = FieldViolations()
        if request.agreements.count > Self.maxAgreementsPerCall {
            problems.add("agreements", "must hold at most \(Self.maxAgreementsPerCall) agreements per call")
        }
        try problems.throwIfAny()
        let today = CalendarDate.today(now: now())
        let time = nowMilliseconds
        var feed = FeedResults()
        var seen: Set<String> = []
        for (index, input) in request.agreements.enumerated() {
            try feed.run("agreements", index: index, number: input.agreementNumber, customerID: input.customerID) { result in
                let agreement = try Self.validatedAgreement(input, today: today)
                result.accountNumber = agreement.agreementNumber
                guard seen.insert(agreement.agreementNumber).inserted else {
                    throw HoldingValidator.Rejection(field: "agreementNumber", problem: "repeats an earlier agreement of this batch")
                }
                let key = try holderKey(agreement.customerID, db)
                return try store(agreement, customerKey: key, caller: caller, time: time, db)
            }
        }
        var response = Crm_Customer_V1_UpsertAgreementsResponse()
        (response.results, response.created, response.updated, response.unchanged, response.rejected) =
            (feed.results, feed.created, feed.updated, feed.unchanged, feed.rejected)
        return response
    }

    static func validatedAgreement(_ input: Crm_Customer_V1_ServiceAgreement, today: CalendarDate) throws -> Crm_Customer_V1_ServiceAgreement {
        typealias Rejection = HoldingValidator.Rejection
        var agreement = input
        agreement.inForce = false
        agreement.agreementNumber = input.agreementNumber.trimmingWhitespace().uppercased()
        let number = agreement.agreementNumber.unicodeScalars
        guard (4...40).contains(number.count), number.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }) else {
            throw Rejection(field: "agreementNumber", problem: "must be 4 to 40 letters, digits and -")
        }
        guard CustomerRecords.key(fromID: input.customerID) != nil else { throw Rejection(field: "customerId", problem: "must be C followed by 10 digits") }
        switch input.kind {
        case .unspecified: throw Rejection(field: "kind", problem: "is required")
        case .UNRECOGNIZED: throw Rejection(field: "kind", problem: "is not a known value")
        default: break
        }
        guard let signed = CalendarDate(iso: input.signedOn) else { throw Rejection(field: "signedOn", problem: "must be a real date written YYYY-MM-DD") }
        guard signed <= today else { throw Rejection(field: "signedOn", problem: "must not be in the future") }
        guard let from = CalendarDate(iso: input.validFrom) else { throw Rejection(field: "validFrom", problem: "must be a real date written YYYY-MM-DD") }
        guard from >= signed else { throw Rejection(field: "validFrom", problem: "must not be before signedOn") }
        if !input.validUntil.isEmpty {
            guard let until = CalendarDate(iso: input.validUntil) else { throw Rejection(field: "validUntil", problem: "must be a real date written YYYY-MM-DD") }
            guard until >= from else { throw Rejection(field: "validUntil", problem: "must not be before validFrom") }
        }
        if !input.terminatedOn.isEmpty {
            guard let ended = CalendarDate(iso: input.terminatedOn) else {
                throw Rejection(field: "terminatedOn", problem: "must be a real date written YYYY-MM-DD")
            }
            guard ended >= from, ended <= today else { throw Rejection(field: "terminatedOn", problem: "must be between validFrom and today") }
        }
        return agreement
    }

    private func store(
        _ agreement: Crm_Customer_V1_ServiceAgreement, customerKey: Int64, caller: Caller, time: Int64, _ db: Database
    ) throws -> Crm_Customer_V1_HoldingResult.Outcome {
        let existing = try StatementRow.readFirst(
            db.cachedStatement(sql: "SELECT * FROM service_agreement WHERE agreement_number = ?"), arguments: [agreement.agreementNumber], Self.agreement)
        if let existing, existing == agreement { return .unchanged }
        if let existing, existing.customerID != agreement.customerID {
            throw HoldingValidator.Rejection(field: "customerId", problem: "the agreement belongs to \(existing.customerID)")
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO service_agreement (agreement_number, customer_key, kind, signed_on, valid_from, valid_until, terminated_on, changed_at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (agreement_number) DO UPDATE SET kind = excluded.kind, signed_on = excluded.signed_on,
                    valid_from = excluded.valid_from, valid_until = excluded.valid_until, terminated_on = excluded.terminated_on,
                    changed_at_ms = excluded.changed_at_ms
                """
        ).execute(arguments: [
            agreement.agreementNumber, customerKey, agreement.kind.rawValue, agreement.signedOn, agreement.validFrom, agreement.validUntil,
            agreement.terminatedOn, time,
        ])
        try AuditLog.append(
            [.init(
                customerKey: customerKey, action: "agreement", field: "agreements[\(agreement.agreementNumber)]",
                before: existing.map(ProfileDiff.json) ?? "", after: ProfileDiff.json(agreement))],
            caller: caller, atMilliseconds: time, db)
        return existing == nil ? .created : .updated
    }

    /// A customer's agreements for the single customer view, newest signature first.
    func agreements(customerKey: Int64, _ db: Database) throws -> [Crm_Customer_V1_ServiceAgreement] {
        let today = CalendarDate.today(now: now()).description
        return try StatementRow.readAll(
            db.cachedStatement(
                sql: "SELECT * FROM service_agreement WHERE customer_key = ? ORDER BY signed_on DESC, agreement_number LIMIT \(Self.maxAgreementsInView)"),
            arguments: [customerKey]
        ) { row in
            var agreement = Self.agreement(row)
            agreement.inForce = agreement.validFrom <= today && (agreement.validUntil.isEmpty || today <= agreement.validUntil)
                && (agreement.terminatedOn.isEmpty || today < agreement.terminatedOn)
            return agreement
        }
    }

    static func agreement(_ row: StatementRow) -> Crm_Customer_V1_ServiceAgreement {
        var agreement = Crm_Customer_V1_ServiceAgreement()
        agreement.agreementNumber = row["agreement_number"]
        agreement.customerID = CustomerRecords.customerID(row["customer_key"])
        agreement.kind = .init(rawValue: row["kind"]) ?? .unspecified
        agreement.signedOn = row["signed_on"]
        agreement.validFrom = row["valid_from"]
        agreement.validUntil = row["valid_until"]
        agreement.terminatedOn = row["terminated_on"]
        return agreement
    }
}
