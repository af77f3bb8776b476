internal import ServiceRuntime
internal import Foundation
public import GRDB
public import WireProtocol

extension CustomerDirectory {
    public func recordConsent(_ request: Crm_Customer_V1_RecordConsentRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_ConsentsResponse {
        let key = try Self.key(request.customerID, field: "customerId")
        let consent = request.consent
        var problems = FieldViolations()
        problems.enumeration(
            known: { if case .UNRECOGNIZED = consent.channel { false } else { true } }(), isUnspecified: consent.channel == .unspecified,
            "consent.channel", required: true)
        problems.enumeration(
            known: { if case .UNRECOGNIZED = consent.purpose { false } else { true } }(), isUnspecified: consent.purpose == .unspecified,
            "consent.purpose", required: true)
        let source = problems.text(consent.source, "consent.source", max: 100, required: true)
        let time = nowMilliseconds
        let at = consent.atMs == 0 ? time : consent.atMs
        if consent.atMs < 0 || at > time + 300_000 { problems.add("consent.atMs", "must not be in the future") }
        try problems.throwIfAny()
        guard let customer = try CustomerRecords.load(key: key, db) else { throw CustomerErrors.notFound(request.customerID) }
        guard customer.status == .active || customer.status == .inactive else {
            throw CustomerErrors.wrongStatus(request.customerID, status: customer.status, action: "asked for consent")
        }
        try db.execute(
            sql: """
                INSERT INTO consent_event (customer_key, channel, purpose, granted, source, at_ms, recorded_at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [key, consent.channel.rawValue, consent.purpose.rawValue, consent.granted, source, at, time])
        try AuditLog.append(
            [.init(
                customerKey: key, action: "consent", field: "consents[\(consent.channel)/\(consent.purpose)]", before: "",
                after: "\(consent.granted ? "granted" : "refused") via \(source)")],
            caller: caller, atMilliseconds: time, db)
        return try consents(key: key, includeHistory: false, db)
    }

    public func getConsents(_ request: Crm_Customer_V1_GetConsentsRequest, _ db: Database) throws -> Crm_Customer_V1_ConsentsResponse {
        let key = try Self.key(request.customerID, field: "customerId")
        guard try Bool.fetchOne(db, sql: "SELECT 1 FROM customer WHERE key = ?", arguments: [key]) != nil else {
            throw CustomerErrors.notFound(request.customerID)
        }
        return try consents(key: key, includeHistory: request.includeHistory, db)
    }

    func consents(key: Int64, includeHistory: Bool, _ db: Database) throws -> Crm_Customer_V1_ConsentsResponse {
        let history = try StatementRow.readAll(
            db.cachedStatement(sql: "SELECT * FROM consent_event WHERE customer_key = ? ORDER BY at_ms, event_id"), arguments: [key]
        ) { row in
            var consent = Crm_Customer_V1_Consent()
            consent.channel = .init(rawValue: row["channel"]) ?? .unspecified
            consent.purpose = .init(rawValue: row["purpose"]) ?? .unspecified
            consent.granted = row["granted"]
            consent.source = row["source"]
            consent.atMs = row["at_ms"]
            return consent
        }
        var latest: [Int: Crm_Customer_V1_Consent] = [:]
        for consent in history { latest[consent.channel.rawValue * 100 + consent.purpose.rawValue] = consent }
        var response = Crm_Customer_V1_ConsentsResponse()
        response.current = latest.keys.sorted().map { latest[$0]! }
        if includeHistory { response.history = history }
        return response
    }
}
