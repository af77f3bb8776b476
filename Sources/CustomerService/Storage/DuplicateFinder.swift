internal import GRDB
internal import WireProtocol

/// Finds live customers that are probably the same person or company as a profile: same phone,
/// same email, same name and birth date, same corporate registration number. Each signal adds to a
/// score out of 100; the reasons say which signals matched.
enum DuplicateFinder {
    static let maxCandidates = 10

    static func candidates(for profile: Crm_Customer_V1_CustomerProfile, excluding: Int64?, _ db: Database) throws -> [Crm_Customer_V1_DuplicateCandidate] {
        var scores: [Int64: (score: UInt32, reasons: [String])] = [:]
        func add(_ keys: [Int64], _ points: UInt32, _ reason: String) {
            for key in keys where key != excluding {
                var entry = scores[key] ?? (0, [])
                entry.score = min(100, entry.score + points)
                if !entry.reasons.contains(reason) { entry.reasons.append(reason) }
                scores[key] = entry
            }
        }
        // Joins on the customer's key, never `IN (SELECT ... FROM customer)`: that subquery is a scan
        // of every customer per lookup.
        let live = "(\(Crm_Customer_V1_CustomerStatus.active.rawValue), \(Crm_Customer_V1_CustomerStatus.inactive.rawValue))"
        for contact in profile.contacts where contact.kind == .phone || contact.kind == .email {
            let keys = try Int64.fetchAll(
                db.cachedStatement(
                sql: """
                    SELECT DISTINCT x.customer_key FROM customer_contact x JOIN customer c ON c.key = x.customer_key
                    WHERE x.kind = ? AND x.value = ? AND c.status IN \(live) LIMIT 50
                    """),
                arguments: [contact.kind.rawValue, contact.value])
            add(keys, contact.kind == .phone ? 60 : 50, contact.kind == .phone ? "same phone" : "same email")
        }
        if profile.kind == .individual {
            let person = profile.individual
            for (column, name) in [("name_zh_key", person.nameZh), ("name_latin_key", person.nameLatin)] where !name.isEmpty {
                let nameKey = CustomerRecords.nameKey(name)
                if !person.birthDate.isEmpty {
                    let keys = try Int64.fetchAll(
                        db, sql: "SELECT key FROM customer WHERE \(column) = ? AND birth_date = ? AND status IN \(live) LIMIT 50",
                        arguments: [nameKey, person.birthDate])
                    add(keys, 70, "same name and birth date")
                }
            }
        } else if profile.kind == .corporate {
            let company = profile.corporate
            if !company.registrationNumber.isEmpty {
                let keys = try Int64.fetchAll(
                    db.cachedStatement( sql: "SELECT key FROM customer WHERE registration_number = ? AND status IN \(live) LIMIT 50"),
                    arguments: [company.registrationNumber])
                add(keys, 90, "same registration number")
            }
            let keys = try Int64.fetchAll(
                db.cachedStatement( sql: "SELECT key FROM customer WHERE kind = ? AND legal_name = ? AND status IN \(live) LIMIT 50"),
                arguments: [Crm_Customer_V1_CustomerKind.corporate.rawValue, company.legalName])
            add(keys, 50, "same legal name")
        }
        return scores.sorted { ($0.value.score, $1.key) > ($1.value.score, $0.key) }.prefix(maxCandidates).map { key, entry in
            var candidate = Crm_Customer_V1_DuplicateCandidate()
            candidate.customerID = CustomerRecords.customerID(key)
            candidate.score = entry.score
            candidate.reasons = entry.reasons
            return candidate
        }
    }
}
