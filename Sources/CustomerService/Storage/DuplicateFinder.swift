internal import GRDB
internal import WireProtocol
internal import CRMAPI

/// Finds live customers that are probably the same person or company as a profile: same phone,
/// same email, same name and birth date, same corporate registration number. Each signal adds to a
/// score out of 100; the reasons say which signals matched.
enum DuplicateFinder {
    static let maxCandidates = 10

    /// Whether two versions of a profile differ in anything ``candidates(for:excluding:_:)`` looks
    /// at: phones and emails, the person's names and birth date, the company's registration
    /// number and legal name.
    static func comparedFieldsDiffer(_ a: Crm_Customer_V1_CustomerProfile, _ b: Crm_Customer_V1_CustomerProfile) -> Bool {
        func searched(_ profile: Crm_Customer_V1_CustomerProfile) -> [String] {
            profile.contacts.filter { $0.kind == .phone || $0.kind == .email }.map { "\($0.kind.rawValue):\($0.value)" }
        }
        let (x, y) = (a.individual, b.individual)
        return a.kind != b.kind || x.nameZh != y.nameZh || x.nameLatin != y.nameLatin || x.birthDate != y.birthDate
            || a.corporate.registrationNumber != b.corporate.registrationNumber || a.corporate.legalName != b.corporate.legalName
            || searched(a) != searched(b)
    }

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
            let names = [person.nameZh, person.nameLatin].map(CustomerRecords.nameKey).filter { !$0.isEmpty }
            if !person.birthDate.isEmpty && !names.isEmpty {
                // Everyone born that day (a few dozen in a million), compared by name in Swift: exact
                // names are one signal, names one typing mistake apart another.
                let rows = try Row.fetchAll(
                    db.cachedStatement(
                        sql: "SELECT key, name_zh_key, name_latin_key FROM customer WHERE birth_date = ? AND status IN \(live) LIMIT 500"),
                    arguments: [person.birthDate])
                var same: [Int64] = []
                var similar: [Int64] = []
                for row in rows {
                    let theirs = ([row["name_zh_key"], row["name_latin_key"]] as [String]).filter { !$0.isEmpty }
                    if theirs.contains(where: names.contains) {
                        same.append(row["key"])
                    } else if names.contains(where: { name in theirs.contains { Self.oneEditApart(name, $0) } }) {
                        similar.append(row["key"])
                    }
                }
                add(same, 70, "same name and birth date")
                add(similar, 45, "similar name and same birth date")
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
        return ranked(scores)
    }

    /// Names of at least three characters within one edit of each other.
    static func oneEditApart(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.unicodeScalars), Array(b.unicodeScalars))
        guard min(x.count, y.count) >= NameVariants.minimumLengthForDeletions, abs(x.count - y.count) <= 1 else { return false }
        return NameVariants.distance(x, y) == 1
    }

    private static func ranked(_ scores: [Int64: (score: UInt32, reasons: [String])]) -> [Crm_Customer_V1_DuplicateCandidate] {
        scores.sorted { ($0.value.score, $1.key) > ($1.value.score, $0.key) }.prefix(maxCandidates).map { key, entry in
            var candidate = Crm_Customer_V1_DuplicateCandidate()
            candidate.customerID = CustomerRecords.customerID(key)
            candidate.score = entry.score
            candidate.reasons = entry.reasons
            return candidate
        }
    }
}
