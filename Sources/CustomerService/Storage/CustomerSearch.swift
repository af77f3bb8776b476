internal import ServiceRuntime
internal import Foundation
internal import GRDB
internal import WireProtocol
internal import CRMAPI

/// Customer.Search: every criterion given must match; results come in key order, a page at a time,
/// continuing after the last key of the previous page (keyset pagination: stable while rows are
/// added, and as fast on page 1,000 as on page 1).
enum CustomerSearch {
    static let defaultPageSize: UInt32 = 50
    static let maxPageSize: UInt32 = 200

    struct Query {
        var namePrefix = ""
        /// A name to match within ``NameVariants/maximumDistance`` edits.
        var fuzzyName: TypedName?
        /// A name as typed, ranked exact > prefix > fuzzy.
        var name: TypedName?
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
            let fuzzy = TypedName(problems.text(request.fuzzyName, "fuzzyName", max: 50))
            if fuzzy.key.unicodeScalars.count < 2 { problems.add("fuzzyName", "must have at least 2 characters besides spaces") }
            if !request.namePrefix.isEmpty || !request.name.isEmpty { problems.add("fuzzyName", "cannot be combined with namePrefix or name") }
            if !request.pageToken.isEmpty { problems.add("pageToken", "a fuzzy search has one page only") }
            query.fuzzyName = fuzzy
        }
        if !request.name.isEmpty {
            let name = TypedName(problems.text(request.name, "name", max: 50))
            if name.key.isEmpty { problems.add("name", "must have at least 1 character besides spaces") }
            if !request.namePrefix.isEmpty { problems.add("name", "cannot be combined with namePrefix") }
            if !request.pageToken.isEmpty { problems.add("pageToken", "a search by name has one page only") }
            query.name = name
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
        if query.namePrefix.isEmpty && query.fuzzyName == nil && query.name == nil && query.documentNumber.isEmpty && query.accountNumber.isEmpty && query.phone.isEmpty && query.email.isEmpty
            && query.relationshipManagerID.isEmpty && query.branchID.isEmpty && query.valueGrade == 0
        {
            problems.add("namePrefix", "at least one search criterion is required")
        }
        try problems.throwIfAny()
        return query
    }

    static func run(_ query: Query, _ db: Database) throws -> Crm_Customer_V1_SearchCustomersResponse {
        if let name = query.fuzzyName { return try runFuzzy(name, query, db) }
        if let name = query.name { return try runRanked(name, query, db) }
        var (conditions, arguments) = filters(query)
        conditions.append("key > ?")
        arguments += [query.afterKey]
        if !query.namePrefix.isEmpty {
            let (condition, prefixArguments) = prefixCondition(query.namePrefix)
            conditions.append(condition)
            arguments += prefixArguments
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

    /// The names that start with `prefix`: a range [prefix, prefix + the highest scalar) on each
    /// name column, each served by its index.
    private static func prefixCondition(_ prefix: String) -> (String, StatementArguments) {
        let columns = ["name_zh_key", "name_latin_key", "name_pinyin_key", "name_initials_key"]
        let upper = prefix + "\u{10FFFF}"
        let condition = columns.map { "(\($0) >= ? AND \($0) < ?)" }.joined(separator: " OR ")
        return ("(\(condition))", StatementArguments(Array(repeating: [prefix, upper], count: columns.count).flatMap { $0 }))
    }

    /// Candidates from the name variant index, filtered like any search, ranked by
    /// ``TypedName/score(fuzzy:)``.
    private static func runFuzzy(_ name: TypedName, _ query: Query, _ db: Database) throws -> Crm_Customer_V1_SearchCustomersResponse {
        let rows = try fuzzyCandidates(name, query, limit: NameVariants.maximumCandidates, db)
        return ranked(rows.compactMap { row in name.score(fuzzy: row).map { ($0, row) } }, pageSize: query.pageSize)
    }

    /// Exact matches first, then prefixes, then fuzzy ones, each read only while the page is not
    /// full, ranked by ``TypedName/score(ranked:)``.
    private static func runRanked(_ name: TypedName, _ query: Query, _ db: Database) throws -> Crm_Customer_V1_SearchCustomersResponse {
        let (filterConditions, filterArguments) = filters(query)
        let pageSize = Int(query.pageSize)
        var found: [(UInt32, Row)] = []
        var seen: Set<Int64> = []
        func add(_ rows: [Row]) {
            for row in rows where seen.insert(row["key"]).inserted {
                if let score = name.score(ranked: row) { found.append((score, row)) }
            }
        }
        // One query per score class, best first, so that a class never crowds out a better one.
        // The prefix class is read in index order, not key order: a short prefix ("zhang") can
        // match a large share of all customers, and sorting them all would cost more than the page.
        // The name as written is one query per column: each walks its index in key order and stops
        // at the page, where one query over the three (a multi-index OR) read and sorted every
        // namesake (1,900 of them for a common name in a million: 5 ms instead of 1).
        let prefix = prefixCondition(name.key)
        let classes: [(condition: String, arguments: StatementArguments, order: String)] = [
            ("name_zh_key = ?", [name.key], "ORDER BY key"),
            ("name_latin_key = ?", [name.key], "ORDER BY key"),
            ("legal_name = ?", [name.key], "ORDER BY key"),
            ("name_pinyin_key = ?", [name.pinyin.isEmpty ? name.key : name.pinyin], "ORDER BY key"),
            ("name_initials_key = ?", [name.key], "ORDER BY key"),
            (prefix.0, prefix.1, ""),
        ]
        for (condition, arguments, order) in classes where found.count < pageSize {
            let conditions = [condition] + filterConditions
            add(
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(summaryColumns), \(TypedName.columns) FROM customer
                        WHERE \(conditions.joined(separator: " AND ")) \(order) LIMIT \(pageSize + seen.count)
                        """,
                    arguments: arguments + filterArguments))
        }
        if found.count < pageSize && name.key.unicodeScalars.count >= 2 {
            add(try fuzzyCandidates(name, query, limit: NameVariants.maximumCandidates, db))
        }
        return ranked(found, pageSize: query.pageSize)
    }

    /// Customers with one of the name's forms (its key, its pinyin, each with one character
    /// deleted) in the name variant index: those with the name itself first, then those one form
    /// away, so that for a very common name the bounded candidate set still holds the exact
    /// matches; the filters apply inside the bound, so a narrow search on a common name finds its
    /// customers.
    private static func fuzzyCandidates(_ name: TypedName, _ query: Query, limit: Int, _ db: Database) throws -> [Row] {
        let (filterConditions, filterArguments) = filters(query)
        let typed = [name.key, name.pinyin].filter { !$0.isEmpty }.map(NameVariants.hashes(near:))
        let exact = Set(typed.map(\.exact))
        let others = Set(typed.flatMap(\.others)).subtracting(exact)
        var rows: [Row] = []
        var seen: Set<Int64> = []
        for hashes in [exact.sorted(), others.sorted()] where !hashes.isEmpty && rows.count < limit {
            let placeholders = Array(repeating: "?", count: hashes.count).joined(separator: ", ")
            let conditions = ["v.variant_hash IN (\(placeholders))"] + filterConditions
            let found = try Row.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT \(summaryColumns), \(TypedName.columns)
                    FROM customer_name_variant v JOIN customer ON customer.key = v.customer_key
                    WHERE \(conditions.joined(separator: " AND ")) LIMIT \(limit - rows.count)
                    """,
                arguments: StatementArguments(hashes) + filterArguments)
            for row in found where seen.insert(row["key"]).inserted { rows.append(row) }
        }
        return rows
    }

    /// Best score first, then key order; one page.
    private static func ranked(_ scored: [(score: UInt32, row: Row)], pageSize: UInt32) -> Crm_Customer_V1_SearchCustomersResponse {
        let sorted = scored.map { (score: $0.score, key: $0.row["key"] as Int64, row: $0.row) }.sorted { ($0.score, $1.key) > ($1.score, $0.key) }
        var response = Crm_Customer_V1_SearchCustomersResponse()
        response.customers = sorted.prefix(Int(pageSize)).map { entry in
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
