internal import Crypto
internal import Foundation
public import GRDB
internal import ServiceRuntime
public import WireProtocol
public import CRMAPI

/// Resolution, satisfaction and the links between cases (parent, duplicate).
extension CaseDesk {
    /// Checks the resolution a RESOLVE must carry (and that no other event carries one).
    static func resolution(
        _ request: Crm_Servicedesk_V1_TransitionCaseRequest, event: CaseEvent?, _ violations: inout FieldViolations
    ) -> Crm_Servicedesk_V1_Resolution? {
        guard event == .resolve else {
            if request.hasResolution { violations.add("resolution", "is only for RESOLVE") }
            return nil
        }
        guard request.hasResolution else {
            violations.add("resolution", "is required to resolve (root cause and resolution code)")
            return nil
        }
        var resolution = Crm_Servicedesk_V1_Resolution()
        resolution.rootCause = violations.text(request.resolution.rootCause, "resolution.rootCause", max: 500, required: true)
        resolution.resolutionCode = violations.code(request.resolution.resolutionCode, "resolution.resolutionCode", max: 40, required: true)
        resolution.compensationMinor = request.resolution.compensationMinor
        if !(0...1_000_000_000_000).contains(resolution.compensationMinor) {
            violations.add("resolution.compensationMinor", "must be 0 to 10^12")
        }
        let currency = request.resolution.compensationCurrency
        if resolution.compensationMinor > 0 || !currency.isEmpty {
            if currency.utf8.count != 3 || !currency.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) {
                violations.add("resolution.compensationCurrency", "must be an ISO 4217 code such as CNY when there is compensation")
            }
            resolution.compensationCurrency = currency
        }
        return resolution
    }

    // MARK: Satisfaction

    /// A fresh one-time token for rating a case just closed. Only its SHA-256 is stored.
    func issueSatisfactionToken(caseKey: Int64, at: Date, _ db: Database) throws -> (token: String, expiresAt: Date) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let token = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let expiresAt = at.addingTimeInterval(satisfactionTokenLifetime)
        try db.cachedStatement(sql: "INSERT INTO satisfaction_token (token_sha256, case_key, expires_at_ms) VALUES (?, ?, ?)").execute(arguments: [Self.digest(token), caseKey, expiresAt.milliseconds])
        return (token, expiresAt)
    }

    static func digest(_ token: String) -> Data { Data(SHA256.hash(data: Data(token.utf8))) }

    public func recordSatisfaction(
        _ request: Crm_Servicedesk_V1_RecordSatisfactionRequest, _ db: Database
    ) throws -> Crm_Servicedesk_V1_RecordSatisfactionResponse {
        var violations = FieldViolations()
        if !(1...5).contains(request.score) { violations.add("score", "must be 1 to 5") }
        let comment = violations.text(request.comment, "comment", max: 1_000)
        if request.target == nil { violations.add("caseId", "or token is required") }
        try violations.throwIfAny()
        let at = now()
        let key: Int64
        let via: String
        switch request.target {
        case .caseID(let id):
            key = try caseKey(id, db)
            via = "case"
        case .token(let token):
            guard token.utf8.count <= 100,
                let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT case_key, expires_at_ms, used_at_ms FROM satisfaction_token WHERE token_sha256 = ?"), arguments: [Self.digest(token)])
            else {
                throw RPCError(code: .notFound, message: "no such satisfaction token", reason: .tokenNotFound, processing: .notProcessed)
            }
            if (row["used_at_ms"] as Int64?) != nil {
                throw RPCError(code: .failedPrecondition, message: "the satisfaction token was already used", reason: .tokenUsed, processing: .notProcessed)
            }
            if at.milliseconds >= row["expires_at_ms"] as Int64 {
                throw RPCError(code: .failedPrecondition, message: "the satisfaction token expired", reason: .tokenExpired, processing: .notProcessed)
            }
            key = row["case_key"]
            via = "token"
            try db.cachedStatement(sql: "UPDATE satisfaction_token SET used_at_ms = ? WHERE token_sha256 = ?").execute(arguments: [at.milliseconds, Self.digest(token)])
        case nil:
            throw Self.notFound("")
        }
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT status, satisfaction_score FROM service_case WHERE key = ?"), arguments: [key])!
        let status = CaseStatus(rawValue: row["status"]) ?? .new
        guard status == .resolved || status == .closed else {
            throw RPCError(
                code: .failedPrecondition, message: "case \(Self.caseID(key)) is \(status.rawValue); satisfaction is recorded once it is resolved or closed",
                reason: .caseNotResolved, processing: .notProcessed)
        }
        guard (row["satisfaction_score"] as Int) == 0 else {
            throw RPCError(
                code: .alreadyExists, message: "case \(Self.caseID(key)) already has a satisfaction score", reason: .satisfactionRecorded,
                processing: .notProcessed)
        }
        try db.cachedStatement(sql: """
                UPDATE service_case SET satisfaction_score = ?, satisfaction_comment = ?, satisfaction_at_ms = ?, satisfaction_via = ?,
                    version = version + 1 WHERE key = ?
                """).execute(arguments: [request.score, comment, at.milliseconds, via, key])
        let updated = try loadCase(key: key, calendars: CalendarBook(), db)
        try publish("case.satisfaction", updated, event: nil, metric: nil, db)
        var response = Crm_Servicedesk_V1_RecordSatisfactionResponse()
        response.case = updated
        return response
    }

    // MARK: Links between cases

    /// The key of the parent a new case is opened under: it must exist and not be a child itself.
    func parentCase(_ id: String, _ db: Database) throws -> Int64 {
        let key = try caseKey(id, db)
        if try Int64.fetchOne(db.cachedStatement(sql: "SELECT parent_key FROM service_case WHERE key = ?"), arguments: [key]) != nil {
            throw RPCError(
                code: .failedPrecondition, message: "case \(id) is itself a child case; open the new case under its parent",
                reason: .parentIsChild, processing: .notProcessed)
        }
        return key
    }

    /// The key of the case `key` duplicates: another case, not itself a duplicate.
    func duplicateTarget(_ id: String, of key: Int64, _ db: Database) throws -> Int64 {
        let target = try caseKey(id, db)
        guard target != key else {
            throw RPCError(code: .failedPrecondition, message: "a case cannot duplicate itself", reason: .duplicateOfSelf, processing: .notProcessed)
        }
        if let original = try Int64.fetchOne(db.cachedStatement(sql: "SELECT duplicate_of_key FROM service_case WHERE key = ?"), arguments: [target]) {
            throw RPCError(
                code: .failedPrecondition, message: "case \(id) is itself a duplicate of \(Self.caseID(original)); name that one",
                reason: .duplicateOfDuplicate, processing: .notProcessed, details: ["original_id": Self.caseID(original)])
        }
        return target
    }
}
