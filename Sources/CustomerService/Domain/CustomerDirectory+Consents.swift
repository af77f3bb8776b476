public import ServiceRuntime
internal import Foundation
public import GRDB
public import WireProtocol
public import CRMAPI

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
        let at = consent.at.milliseconds == 0 ? time : consent.at.milliseconds
        if consent.at.milliseconds < 0 || at > time + 300_000 { problems.add("consent.at.milliseconds", "must not be in the future") }
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
        // In the order of consent_event_customer (no sort in SQL): each channel and purpose's
        // events together, oldest first, so the last of each is its current answer.
        let events = try StatementRow.readAll(
            db.cachedStatement(
                sql: "SELECT * FROM consent_event WHERE customer_key = ? ORDER BY channel, purpose, at_ms, event_id"), arguments: [key]
        ) { row -> (eventID: Int64, consent: Crm_Customer_V1_Consent) in
            var consent = Crm_Customer_V1_Consent()
            consent.channel = .init(rawValue: row["channel"]) ?? .unspecified
            consent.purpose = .init(rawValue: row["purpose"]) ?? .unspecified
            consent.granted = row["granted"]
            consent.source = row["source"]
            consent.at.milliseconds = row["at_ms"]
            return (row["event_id"], consent)
        }
        var response = Crm_Customer_V1_ConsentsResponse()
        for (index, event) in events.enumerated() {
            let next = events.index(after: index)
            let lastOfItsKind = next == events.endIndex
                || events[next].consent.channel != event.consent.channel || events[next].consent.purpose != event.consent.purpose
            if lastOfItsKind { response.current.append(event.consent) }
        }
        if includeHistory {
            response.history = events.sorted { ($0.consent.at.milliseconds, $0.eventID) < ($1.consent.at.milliseconds, $1.eventID) }.map(\.consent)
        }
        return response
    }
}
