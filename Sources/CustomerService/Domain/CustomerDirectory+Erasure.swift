public import ServiceRuntime
internal import Foundation
public import GRDB
public import WireProtocol
public import CRMAPI

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
            throw RPCError(code: .notFound, message: "no legal hold \(request.holdID)", reason: .holdNotFound, processing: .notProcessed)
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
                code: .failedPrecondition, message: "only an individual's personal data can be erased", reason: .notAPerson,
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
        // What the person's own words and the bank's notes about them may hold: their names, numbers
        // and addresses, looked up before they are erased, taken out of texts that stay.
        var terms: [String] = []
        for erasedKey in keys { terms += try Self.personalTerms(key: erasedKey, db) }
        let scrub = PersonalTerms(terms)
        var erasure = Erasure(customerID: request.id)
        var entityKeys: [String] = []
        for erasedKey in keys {
            entityKeys.append(CustomerRecords.customerID(erasedKey))
            entityKeys += try String.fetchAll(db, sql: "SELECT case_id FROM case_summary WHERE customer_key = ?", arguments: [erasedKey])
            entityKeys += try String.fetchAll(db, sql: "SELECT opportunity_id FROM opportunity_summary WHERE customer_key = ?", arguments: [erasedKey])
            try pseudonymise(erasedKey, version: erasedKey == key ? current.version + 1 : nil, now: time, &erasure, db)
            try AuditLog.redact(customerKey: erasedKey, db)
            if erasedKey != key {
                // A record merged into the erased customer is erased with it, and says so.
                try AuditLog.append(
                    [.init(customerKey: erasedKey, action: "erase", field: "personalData", before: "", after: "erased with \(request.id)")],
                    caller: caller, atMilliseconds: time, db)
            }
            try eraseRecords(of: erasedKey, scrub: scrub, &erasure, db)
        }
        try erasure.eraseRuntimeCopies(entityKeys: entityKeys, nowMilliseconds: time, db)
        let keptBasis = scrub.apply(basis)
        try db.execute(
            sql: "INSERT INTO erasure_request (customer_key, basis, outcome, requested_at_ms) VALUES (?, ?, 'erased', ?)",
            arguments: [key, keptBasis, time])
        try AuditLog.append(
            [
                .init(customerKey: key, action: "erase", field: "status", before: current.status.name, after: "ERASED"),
                .init(customerKey: key, action: "erase", field: "basis", before: "", after: keptBasis),
            ] + erasure.places.map { .init(customerKey: key, action: "erase", field: "customer \($0.place)", before: "", after: "\($0.rows) rows") },
            caller: caller, atMilliseconds: time, db)
        response.erased = true
        response.customer = try view(key: key, caller: caller, db)
        return response
    }

    /// Replaces every personal field with a neutral value and removes documents and contacts; keeps
    /// what the bank may keep (kind, RM, branch, grades, dates of the relationship).
    private func pseudonymise(_ key: Int64, version: Int64?, now: Int64, _ erasure: inout Erasure, _ db: Database) throws {
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
        erasure.record("customer.personal_fields", rows: db.changesCount)
        try erasure.delete(from: "customer_document", where: "customer_key = ?", [key], db)
        try erasure.delete(from: "customer_contact", where: "customer_key = ?", [key], db)
        // Only a corporate's legal name survives erasure; it stays findable, its pinyin too.
        try CustomerRecords.refreshNameSearch(key: key, db)
    }

    /// Everything else of the customer's that may hold their words or the bank's notes about them:
    /// blanked where the record is theirs alone (contact history, merge and assignment reasons,
    /// consent sources, duplicate findings, the merge's before-image, the mirrored cases and
    /// opportunities); where the record stays (a legal hold's basis, a household's name) the
    /// person's names and numbers are taken out of it.
    private func eraseRecords(of key: Int64, scrub: PersonalTerms, _ erasure: inout Erasure, _ db: Database) throws {
        try erasure.blank("interaction", ["subject", "outcome"], where: "customer_key = ?", [key], db)
        try erasure.blank("customer_merge", ["reason"], where: "survivor_key = ? OR merged_key = ?", [key, key], db)
        try db.execute(
            sql: "UPDATE customer_merge SET before_image = x'' WHERE (survivor_key = ? OR merged_key = ?) AND before_image != x''", arguments: [key, key])
        erasure.record("customer_merge.before_image", rows: db.changesCount)
        try erasure.blank("rm_assignment", ["reason"], where: "customer_key = ?", [key], db)
        try erasure.blank("consent_event", ["source"], where: "customer_key = ?", [key], db)
        try erasure.blank("duplicate_pair", ["reasons", "dismissed_reason"], where: "first_key = ? OR second_key = ?", [key, key], db)
        try erasure.delete(from: "case_summary", where: "customer_key = ?", [key], db)
        try erasure.delete(from: "opportunity_summary", where: "customer_key = ?", [key], db)
        try scrubKept("legal_hold", id: "hold_id", ["basis", "release_reason"], where: "customer_key = ?", [key], scrub, &erasure, db)
        try scrubKept("erasure_request", id: "request_key", ["basis"], where: "customer_key = ?", [key], scrub, &erasure, db)
        try scrubKept(
            "household", id: "household_key", ["name"],
            where: "household_key IN (SELECT household_key FROM household_member WHERE customer_key = ?)", [key], scrub, &erasure, db)
    }

    /// Takes the person's names and numbers out of `columns` of the rows that stay.
    private func scrubKept(
        _ table: String, id: String, _ columns: [String], where filter: String, _ arguments: StatementArguments, _ scrub: PersonalTerms,
        _ erasure: inout Erasure, _ db: Database
    ) throws {
        for column in columns {
            var changed = 0
            for row in try Row.fetchAll(db, sql: "SELECT \(id), \(column) FROM \(table) WHERE \(filter)", arguments: arguments) {
                let text: String = row[1]
                let kept = scrub.apply(text)
                guard kept != text else { continue }
                try db.execute(sql: "UPDATE \(table) SET \(column) = ? WHERE \(id) = ?", arguments: [kept, row[0] as Int64])
                changed += 1
            }
            erasure.record("\(table).\(column)", rows: changed)
        }
    }

    /// The customer's names, identity numbers, phone numbers, e-mail addresses and address lines.
    static func personalTerms(key: Int64, _ db: Database) throws -> [String] {
        guard let customer = try CustomerRecords.load(key: key, db) else { return [] }
        let profile = customer.profile
        var terms = [profile.individual.nameZh, profile.individual.nameLatin, profile.corporate.legalRepresentative]
        terms += profile.documents.map(\.number)
        for contact in profile.contacts {
            terms += [contact.value, contact.address.line1, contact.address.line2]
            // Stored as "+8613700000000", written as "13700000000".
            if contact.value.hasPrefix("+86") { terms.append(String(contact.value.dropFirst(3))) }
        }
        return terms
    }
}

/// Takes a person's names and numbers out of a text: each occurrence, in any letter case, becomes
/// the erased marker. Numbers are also found written with spaces or dashes between their digits.
struct PersonalTerms: Sendable {
    private let terms: [String]

    init(_ terms: [String]) {
        // The longest first, so that a name inside a longer term is not taken out of it first.
        self.terms = Set(terms.map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.count >= 2 }).sorted { $0.count > $1.count }
    }

    func apply(_ text: String) -> String {
        var result = text
        for term in terms {
            result = result.replacingOccurrences(of: term, with: AuditLog.erasedMarker, options: .caseInsensitive)
            let digits = term.filter(\.isNumber)
            if digits.count >= 6, digits.count == term.count {
                // "137 0000 0000", "137-0000-0000"
                let pattern = digits.map { NSRegularExpression.escapedPattern(for: String($0)) }.joined(separator: "[ -]?")
                result = result.replacingOccurrences(of: pattern, with: AuditLog.erasedMarker, options: .regularExpression)
            }
        }
        return result
    }
}
