internal import ServiceRuntime
internal import Foundation
public import GRDB
public import WireProtocol

extension CustomerDirectory {
    public func placeLegalHold(_ request: Crm_Customer_V1_PlaceLegalHoldRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_PlaceLegalHoldResponse {
        let key = try Self.key(request.id, field: "id")
        var problems = FieldViolations()
        let basis = problems.text(request.basis, "basis", max: 200, required: true)
        let today = CalendarDate.today(now: now())
        if let until = CalendarDate(iso: request.untilDate) {
            if until < today { problems.add("untilDate", "must be today or later") }
        } else {
            problems.add("untilDate", "must be a real date written YYYY-MM-DD")
        }
        try problems.throwIfAny()
        guard let customer = try CustomerRecords.load(key: key, db) else { throw CustomerErrors.notFound(request.id) }
        guard customer.status != .erased else { throw CustomerErrors.wrongStatus(request.id, status: customer.status, action: "held") }
        let time = nowMilliseconds
        try db.execute(
            sql: "INSERT INTO legal_hold (customer_key, basis, until_date, placed_at_ms) VALUES (?, ?, ?, ?)",
            arguments: [key, basis, request.untilDate, time])
        var response = Crm_Customer_V1_PlaceLegalHoldResponse()
        response.holdID = UInt64(db.lastInsertedRowID)
        try AuditLog.append(
            [.init(customerKey: key, action: "legal-hold", field: "hold \(response.holdID)", before: "", after: "\(basis) until \(request.untilDate)")],
            caller: caller, atMilliseconds: time, db)
        return response
    }

    public func releaseLegalHold(_ request: Crm_Customer_V1_ReleaseLegalHoldRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_ReleaseLegalHoldResponse {
        var problems = FieldViolations()
        let reason = problems.text(request.reason, "reason", max: 200, required: true)
        if request.holdID == 0 || request.holdID > UInt64(Int64.max) { problems.add("holdId", "is required") }
        try problems.throwIfAny()
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM legal_hold WHERE hold_id = ?", arguments: [Int64(request.holdID)]) else {
            throw RPCError(code: .notFound, message: "no legal hold \(request.holdID)", reason: "HOLD_NOT_FOUND", processing: .notProcessed)
        }
        if (row["released_at_ms"] as Int64?) == nil {
            let time = nowMilliseconds
            try db.execute(
                sql: "UPDATE legal_hold SET released_at_ms = ?, release_reason = ? WHERE hold_id = ?",
                arguments: [time, reason, Int64(request.holdID)])
            try AuditLog.append(
                [.init(customerKey: row["customer_key"], action: "legal-hold-release", field: "hold \(request.holdID)", before: "", after: reason)],
                caller: caller, atMilliseconds: time, db)
        }
        return Crm_Customer_V1_ReleaseLegalHoldResponse()
    }

    /// An erasure request: pseudonymises the customer's personal data unless a legal hold applies;
    /// either way the request, its basis and its outcome are recorded.
    public func erase(_ request: Crm_Customer_V1_EraseCustomerRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_EraseCustomerResponse {
        let key = try Self.key(request.id, field: "id")
        var problems = FieldViolations()
        let basis = problems.text(request.basis, "basis", max: 200, required: true)
        try problems.throwIfAny()
        let current = try loadForChange(key: key, id: request.id, expectedVersion: request.expectedVersion, db)
        guard current.status == .active || current.status == .inactive else {
            throw CustomerErrors.wrongStatus(request.id, status: current.status, action: "erased")
        }
        guard current.profile.kind == .individual else {
            throw RPCError(
                code: .failedPrecondition, message: "only an individual's personal data can be erased", reason: "NOT_A_PERSON",
                processing: .notProcessed)
        }
        let time = nowMilliseconds
        let today = CalendarDate.today(now: now()).description
        var response = Crm_Customer_V1_EraseCustomerResponse()
        if let hold = try Row.fetchOne(
            db,
            sql: """
                SELECT hold_id, basis, until_date FROM legal_hold
                WHERE customer_key = ? AND released_at_ms IS NULL AND until_date >= ? ORDER BY until_date DESC LIMIT 1
                """,
            arguments: [key, today])
        {
            let holdID: Int64 = hold["hold_id"]
            try db.execute(
                sql: "INSERT INTO erasure_request (customer_key, basis, outcome, hold_id, requested_at_ms) VALUES (?, ?, 'held', ?, ?)",
                arguments: [key, basis, holdID, time])
            try AuditLog.append(
                [.init(customerKey: key, action: "erase-held", field: "basis", before: "", after: "\(basis); held by hold \(holdID)")],
                caller: caller, atMilliseconds: time, db)
            response.erased = false
            response.heldByBasis = hold["basis"]
            response.heldUntil = hold["until_date"]
            response.customer = try view(key: key, caller: caller, db)
            return response
        }

        // The customer and every record merged into it (their rows still hold their old names).
        let keys = [key] + (try Int64.fetchAll(
            db,
            sql: """
                WITH RECURSIVE absorbed(key) AS (
                    SELECT key FROM customer WHERE merged_into = ?
                    UNION SELECT customer.key FROM customer JOIN absorbed ON customer.merged_into = absorbed.key)
                SELECT key FROM absorbed
                """,
            arguments: [key]))
        for erasedKey in keys {
            try pseudonymise(erasedKey, version: erasedKey == key ? current.version + 1 : nil, now: time, db)
            try AuditLog.redact(customerKey: erasedKey, db)
            if erasedKey != key {
                // A record merged into the erased customer is erased with it, and says so.
                try AuditLog.append(
                    [.init(customerKey: erasedKey, action: "erase", field: "personalData", before: "", after: "erased with \(request.id)")],
                    caller: caller, atMilliseconds: time, db)
            }
            try db.execute(
                sql: "UPDATE customer_merge SET before_image = x'' WHERE survivor_key = ? OR merged_key = ?", arguments: [erasedKey, erasedKey])
            // Case subjects are the customer's words too; later case events for them are not kept.
            try db.execute(sql: "DELETE FROM case_summary WHERE customer_key = ?", arguments: [erasedKey])
            try db.execute(sql: "DELETE FROM opportunity_summary WHERE customer_key = ?", arguments: [erasedKey])
        }
        try db.execute(
            sql: "INSERT INTO erasure_request (customer_key, basis, outcome, requested_at_ms) VALUES (?, ?, 'erased', ?)",
            arguments: [key, basis, time])
        try AuditLog.append(
            [
                .init(customerKey: key, action: "erase", field: "status", before: current.status.name, after: "ERASED"),
                .init(customerKey: key, action: "erase", field: "basis", before: "", after: basis),
            ],
            caller: caller, atMilliseconds: time, db)
        response.erased = true
        response.customer = try view(key: key, caller: caller, db)
        return response
    }

    /// Replaces every personal field with a neutral value and removes documents and contacts; keeps
    /// what the bank may keep (kind, RM, branch, grades, dates of the relationship).
    private func pseudonymise(_ key: Int64, version: Int64?, now: Int64, _ db: Database) throws {
        try db.execute(
            sql: """
                UPDATE customer SET display_name = ?, name_zh_key = '', name_latin_key = '', name_zh = '', name_latin = ?,
                    gender = 0, birth_date = '', nationality = '', occupation = '', income_band = 0, legal_representative = '',
                    status = CASE WHEN status = ? THEN status ELSE ? END,
                    version = COALESCE(?, version + 1), updated_at_ms = ?
                WHERE key = ?
                """,
            arguments: [
                AuditLog.erasedMarker, "ERASED \(CustomerRecords.customerID(key))", Crm_Customer_V1_CustomerStatus.merged.rawValue,
                Crm_Customer_V1_CustomerStatus.erased.rawValue, version, now, key,
            ])
        try db.execute(sql: "DELETE FROM customer_document WHERE customer_key = ?", arguments: [key])
        try db.execute(sql: "DELETE FROM customer_contact WHERE customer_key = ?", arguments: [key])
        // Only a corporate's legal name survives erasure; it stays findable, its pinyin too.
        try CustomerRecords.refreshNameSearch(key: key, db)
    }
}
