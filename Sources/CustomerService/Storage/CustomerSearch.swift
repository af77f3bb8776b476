internal import ServiceRuntime
internal import Foundation
internal import GRDB
internal import WireProtocol

/// Customer.Search: every criterion given must match; results come in key order, a page at a time,
/// continuing after the last key of the previous page (keyset pagination: stable while rows are
/// added, and as fast on page 1,000 as on page 1).
enum CustomerSearch {
    static let defaultPageSize: UInt32 = 50
    static let maxPageSize: UInt32 = 200

    struct Query {
        var namePrefix = ""
        /// A name search key to match within ``NameVariants/maximumDistance`` edits.
        var fuzzyName = ""
        var documentNumber = ""
        var accountNumber = ""
        var phone = ""
        var email = ""
        var relationshipManagerID = ""
        var branchID = ""
        var valueGrade: UInt32 = 0
        var includeInactive = false
        var pageSize: UInt32 = defaultPageSize
        var afterKey: Int64 = 0
    }

    /// Checks the request and puts it in the form the stored values are in.
    static func query(from request: Crm_Customer_V1_SearchCustomersRequest) throws -> Query {
        var problems = FieldViolations()
        var query = Query()
        query.namePrefix = CustomerRecords.nameKey(problems.text(request.namePrefix, "namePrefix", max: 50))
        if !request.fuzzyName.isEmpty {
            query.fuzzyName = CustomerRecords.nameKey(problems.text(request.fuzzyName, "fuzzyName", max: 50))
            if query.fuzzyName.unicodeScalars.count < 2 { problems.add("fuzzyName", "must have at least 2 characters besides spaces") }
            if !request.namePrefix.isEmpty { problems.add("fuzzyName", "cannot be combined with namePrefix") }
            if !request.pageToken.isEmpty { problems.add("pageToken", "a fuzzy search has one page only") }
        }
        if !request.documentNumber.isEmpty {
            query.documentNumber = DocumentNumbers.normalize(problems.text(request.documentNumber, "documentNumber", max: 40))
        }
        if !request.accountNumber.isEmpty {
            query.accountNumber = DocumentNumbers.normalize(problems.text(request.accountNumber, "accountNumber", max: 34))
        }
        if !request.phone.isEmpty {
            if let phone = ContactPoints.normalizedPhone(request.phone), request.phone.unicodeScalars.count <= 30 {
                query.phone = phone
            } else {
                problems.add("phone", "must be a phone number: + and 7 to 15 digits, or an 11-digit mainland mobile")
            }
        }
        if !request.email.isEmpty {
            if let email = ContactPoints.normalizedEmail(request.email) { query.email = email } else { problems.add("email", "must be an email address") }
        }
        query.relationshipManagerID = problems.code(request.relationshipManagerID, "relationshipManagerId", max: 20)
        query.branchID = problems.code(request.branchID, "branchId", max: 20)
        if request.valueGrade > 5 { problems.add("valueGrade", "must be 0 (any) or 1 to 5") }
        query.valueGrade = request.valueGrade
        query.includeInactive = request.includeInactive
        query.pageSize = UInt32(problems.pageSize(request.pageSize, max: maxPageSize, defaultSize: defaultPageSize))
        query.afterKey = problems.pageToken(request.pageToken)
        if query.namePrefix.isEmpty && query.fuzzyName.isEmpty && query.documentNumber.isEmpty && query.accountNumber.isEmpty && query.phone.isEmpty && query.email.isEmpty
            && query.relationshipManagerID.isEmpty && query.branchID.isEmpty && query.valueGrade == 0
        {
            problems.add("namePrefix", "at least one search criterion is required")
        }
        try problems.throwIfAny()
        return query
    }

    static func run(_ query: Query, _ db: Database) throws -> Crm_Customer_V1_SearchCustomersResponse {
        if !query.fuzzyName.isEmpty { return try runFuzzy(query, db) }
        var (conditions, arguments) = filters(query)
        conditions.append("key > ?")
        arguments += [query.afterKey]
        if !query.namePrefix.isEmpty {
            // A prefix is a range: [prefix, prefix + the highest scalar), which both name indexes serve.
            conditions.append("((name_zh_key >= ? AND name_zh_key < ?) OR (name_latin_key >= ? AND name_latin_key < ?))")
            let upper = query.namePrefix + "\u{10FFFF}"
            arguments += [query.namePrefix, upper, query.namePrefix, upper]
        }
        let sql = """
            SELECT \(summaryColumns) FROM customer
            WHERE \(conditions.joined(separator: " AND ")) ORDER BY key LIMIT \(query.pageSize + 1)
            """
        let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
        var response = Crm_Customer_V1_SearchCustomersResponse()
        response.customers = rows.prefix(Int(query.pageSize)).map(summary)
        if rows.count > Int(query.pageSize), let last = rows.dropLast().last {
            response.nextPageToken = PageToken.token(afterKey: last["key"])
        }
        return response
    }

    /// Candidates from the name variant index, filtered like any search, ranked by edit distance
    /// to the closest of their names.
    private static func runFuzzy(_ query: Query, _ db: Database) throws -> Crm_Customer_V1_SearchCustomersResponse {
        let (filterConditions, filterArguments) = filters(query)
        let forms = NameVariants.hashes(near: query.fuzzyName)
        // Customers with the name itself first, then those one form away, so that for a very common
        // name the bounded candidate set still holds the exact matches; the filters apply inside
        // the bound, so a narrow search on a common name finds its customers.
        var rows: [Row] = []
        var seen: Set<Int64> = []
        for hashes in [[forms.exact], forms.others] where !hashes.isEmpty && rows.count < NameVariants.maximumCandidates {
            let placeholders = Array(repeating: "?", count: hashes.count).joined(separator: ", ")
            let conditions = ["v.variant_hash IN (\(placeholders))"] + filterConditions
            let found = try Row.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT \(summaryColumns), name_zh_key, name_latin_key, legal_name
                    FROM customer_name_variant v JOIN customer ON customer.key = v.customer_key
                    WHERE \(conditions.joined(separator: " AND ")) LIMIT \(NameVariants.maximumCandidates - rows.count)
                    """,
                arguments: StatementArguments(hashes) + filterArguments)
            for row in found where seen.insert(row["key"]).inserted { rows.append(row) }
        }
        var response = Crm_Customer_V1_SearchCustomersResponse()
        let target = Array(query.fuzzyName.unicodeScalars)
        var ranked: [(score: UInt32, key: Int64, row: Row)] = []
        for row in rows {
            let names: [String] = [row["name_zh_key"], row["name_latin_key"], CustomerRecords.nameKey(row["legal_name"])]
            var best: (distance: Int, score: UInt32)?
            for name in names where !name.isEmpty {
                let scalars = Array(name.unicodeScalars)
                let distance = NameVariants.distance(target, scalars)
                let score = NameVariants.score(distance: distance, target, scalars)
                if best.map({ distance < $0.distance || (distance == $0.distance && score > $0.score) }) ?? true { best = (distance, score) }
            }
            if let best, best.distance <= NameVariants.maximumDistance { ranked.append((best.score, row["key"], row)) }
        }
        ranked.sort { ($0.score, $1.key) > ($1.score, $0.key) }
        response.customers = ranked.prefix(Int(query.pageSize)).map { entry in
            var found = summary(entry.row)
            found.matchScore = entry.score
            return found
        }
        return response
    }

    private static let summaryColumns = "key, kind, status, display_name, value_grade, relationship_manager_id, branch_id"

    private static func summary(_ row: Row) -> Crm_Customer_V1_CustomerSummary {
        var summary = Crm_Customer_V1_CustomerSummary()
        summary.id = CustomerRecords.customerID(row["key"])
        summary.kind = .init(rawValue: row["kind"]) ?? .unspecified
        summary.status = .init(rawValue: row["status"]) ?? .unspecified
        summary.displayName = row["display_name"]
        summary.valueGrade = row["value_grade"]
        summary.relationshipManagerID = row["relationship_manager_id"]
        summary.branchID = row["branch_id"]
        return summary
    }

    /// The conditions every search applies besides names and paging.
    private static func filters(_ query: Query) -> ([String], StatementArguments) {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if !query.documentNumber.isEmpty {
            conditions.append("key IN (SELECT customer_key FROM customer_document WHERE number = ?)")
            arguments += [query.documentNumber]
        }
        if !query.accountNumber.isEmpty {
            conditions.append("key IN (SELECT customer_key FROM account_holder WHERE account_number = ?)")
            arguments += [query.accountNumber]
        }
        for (kind, value) in [(Crm_Customer_V1_ContactKind.phone, query.phone), (.email, query.email)] where !value.isEmpty {
            conditions.append("key IN (SELECT customer_key FROM customer_contact WHERE kind = ? AND value = ?)")
            arguments += [kind.rawValue, value]
        }
        if !query.relationshipManagerID.isEmpty {
            conditions.append("relationship_manager_id = ?")
            arguments += [query.relationshipManagerID]
        }
        if !query.branchID.isEmpty {
            conditions.append("branch_id = ?")
            arguments += [query.branchID]
        }
        if query.valueGrade != 0 {
            conditions.append("value_grade = ?")
            arguments += [Int(query.valueGrade)]
        }
        if !query.includeInactive {
            conditions.append("status = \(Crm_Customer_V1_CustomerStatus.active.rawValue)")
        }
        return (conditions, arguments)
    }
}
