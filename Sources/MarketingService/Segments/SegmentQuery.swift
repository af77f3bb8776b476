public import ServiceRuntime
public import WireProtocol
public import CRMAPI

/// A segment filter compiled to SQL over `customer_mirror` (alias `m`): a WHERE clause with `?`
/// placeholders and its arguments, never values spliced into the text. A value: the compilation is
/// plain code, checked field by field in the tests, and an invalid condition is a field violation
/// naming it.
public struct SegmentQuery: Sendable, Equatable {
    public var condition: String
    public var arguments: [String]

    public static let maxConditions = 20
    public static let maxValues = 100

    /// Compiles `filter` for `today` (ages are whole years on that date); with `activeOnly` (what a
    /// segment holds) only active customers match, without it every status does (a campaign counts
    /// why it leaves candidates out).
    public static func compile(
        _ filter: Crm_Marketing_V1_SegmentFilter, today: LocalDate, field prefix: String = "filter", activeOnly: Bool = true
    ) throws -> SegmentQuery {
        var violations = FieldViolations()
        if filter.all.isEmpty || filter.all.count > maxConditions {
            violations.add(prefix + ".all", "must hold 1 to \(maxConditions) conditions")
        }
        var clauses = activeOnly ? ["m.status = \(Crm_Customer_V1_CustomerStatus.active.rawValue)"] : []
        var arguments: [String] = []
        for (index, condition) in filter.all.prefix(maxConditions).enumerated() {
            let field = "\(prefix).all[\(index)]"
            guard condition.values.count <= maxValues else {
                violations.add(field + ".values", "must hold at most \(maxValues) values")
                continue
            }
            switch compiled(condition, today: today) {
            case .success(let (clause, values)):
                clauses.append(clause)
                arguments += values
            case .failure(let problem):
                violations.add(field + "." + problem.field, problem.message)
            }
        }
        try violations.throwIfAny()
        return SegmentQuery(condition: clauses.joined(separator: " AND "), arguments: arguments)
    }

    struct Problem: Error {
        var field: String
        var message: String
    }

    private enum Kind {
        case integer(column: String)
        case age
        case text(column: String)
        case named(column: String, names: [String: Int])
        case consent
        case openComplaint
        case productHeld
        case tag
    }

    private static func compiled(_ condition: Crm_Marketing_V1_SegmentCondition, today: LocalDate) -> Result<(String, [String]), Problem> {
        do {
            return .success(try compile(condition, today: today))
        } catch {
            return .failure(error)
        }
    }

    private static func kind(_ field: Crm_Marketing_V1_SegmentField) -> Kind? {
        switch field {
        case .valueGrade: .integer(column: "m.value_grade")
        case .assetsMinor: .integer(column: "m.assets_minor")
        case .monthlyContributionMinor: .integer(column: "m.monthly_contribution_minor")
        case .age: .age
        case .branch: .text(column: "m.branch_id")
        case .relationshipManager: .text(column: "m.relationship_manager_id")
        case .creditGrade: .text(column: "m.credit_grade")
        case .lifecycleStage:
            .named(column: "m.lifecycle_stage", names: ["prospect": 1, "new": 2, "growing": 3, "mature": 4, "dormant": 5, "churned": 6, "churn_risk": 7])
        case .customerKind: .named(column: "m.kind", names: ["individual": 1, "corporate": 2])
        case .marketingConsent: .consent
        case .openComplaint: .openComplaint
        case .productHeld: .productHeld
        case .tag: .tag
        case .unspecified, .UNRECOGNIZED: nil
        }
    }

    private static func compile(_ condition: Crm_Marketing_V1_SegmentCondition, today: LocalDate) throws(Problem) -> (String, [String]) {
        guard let kind = kind(condition.field) else { throw Problem(field: "field", message: "is required (a known field)") }
        let op = condition.op
        let values = condition.values
        func count(_ expected: Int) throws(Problem) {
            guard values.count == expected else { throw Problem(field: "values", message: "must hold \(expected) value\(expected == 1 ? "" : "s")") }
        }
        func integers() throws(Problem) -> [Int64] {
            try values.map { text throws(Problem) in
                guard let number = Int64(text), number >= 0 else { throw Problem(field: "values", message: "must be whole numbers, 0 or more") }
                return number
            }
        }
        func only(_ allowed: [Crm_Marketing_V1_SegmentOperator]) throws(Problem) {
            guard allowed.contains(op) else { throw Problem(field: "op", message: "is not one this field takes") }
        }
        func listed(_ column: String, _ arguments: [String]) throws(Problem) -> (String, [String]) {
            switch op {
            case .equals:
                try count(1)
                return ("\(column) = ?", arguments)
            case .notEquals:
                try count(1)
                return ("\(column) != ?", arguments)
            case .in:
                guard !values.isEmpty else { throw Problem(field: "values", message: "must hold 1 or more values") }
                return ("\(column) IN (\(Array(repeating: "?", count: arguments.count).joined(separator: ", ")))", arguments)
            default:
                throw Problem(field: "op", message: "is not one this field takes (EQUALS, NOT_EQUALS, IN)")
            }
        }

        switch kind {
        case .integer(let column):
            let numbers = try integers()
            return try numeric(column, op, numbers.map(String.init), count: count)
        case .age:
            // Age >= n exactly when born on or before today n years ago (29 February -> 28 February).
            let ages = try integers()
            guard ages.allSatisfy({ $0 <= 150 }) else { throw Problem(field: "values", message: "must be ages 0 to 150") }
            func bornBy(_ age: Int64) -> String { yearsBefore(today, Int(age)).description }
            let known = "m.birth_date != ''"
            switch op {
            case .atLeast:
                try count(1)
                return ("(\(known) AND m.birth_date <= ?)", [bornBy(ages[0])])
            case .greaterThan:
                try count(1)
                return ("(\(known) AND m.birth_date <= ?)", [bornBy(ages[0] + 1)])
            case .atMost:
                try count(1)
                return ("(\(known) AND m.birth_date > ?)", [bornBy(ages[0] + 1)])
            case .lessThan:
                try count(1)
                return ("(\(known) AND m.birth_date > ?)", [bornBy(ages[0])])
            case .equals:
                try count(1)
                return ("(\(known) AND m.birth_date > ? AND m.birth_date <= ?)", [bornBy(ages[0] + 1), bornBy(ages[0])])
            case .between:
                try count(2)
                return ("(\(known) AND m.birth_date > ? AND m.birth_date <= ?)", [bornBy(ages[1] + 1), bornBy(ages[0])])
            default:
                throw Problem(field: "op", message: "is not one AGE takes")
            }
        case .text(let column):
            guard values.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 60 }) else {
                throw Problem(field: "values", message: "must be codes of 1 to 60 characters")
            }
            return try listed(column, values)
        case .named(let column, let names):
            let numbers = try values.map { text throws(Problem) in
                guard let number = names[text] else {
                    throw Problem(field: "values", message: "must be one of \(names.sorted { $0.value < $1.value }.map(\.key).joined(separator: ", "))")
                }
                return String(number)
            }
            try only([.equals, .notEquals, .in])
            return try numeric(column, op, numbers, count: count)
        case .consent:
            try only([.equals, .in])
            guard !values.isEmpty, op == .in || values.count == 1 else { throw Problem(field: "values", message: "must name channels") }
            let patterns = try values.map { text throws(Problem) in
                guard channels.contains(text) else { throw Problem(field: "values", message: "must be channels: \(channels.joined(separator: ", "))") }
                return "%," + text + ",%"
            }
            return ("(" + Array(repeating: "m.marketing_consents LIKE ?", count: patterns.count).joined(separator: " OR ") + ")", patterns)
        case .tag:
            try only([.equals, .notEquals, .in])
            guard !values.isEmpty, op == .in || values.count == 1, values.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 40 }) else {
                throw Problem(field: "values", message: "must name tags of 1 to 40 characters")
            }
            let exists =
                "EXISTS (SELECT 1 FROM customer_tag t WHERE t.customer_id = m.customer_id AND t.tag IN (\(Array(repeating: "?", count: values.count).joined(separator: ", "))))"
            return (op == .notEquals ? "NOT " + exists : exists, values)
        case .productHeld:
            try only([.equals, .notEquals, .in])
            guard !values.isEmpty, op == .in || values.count == 1 else { throw Problem(field: "values", message: "must name product types") }
            let types = try values.map { text throws(Problem) in
                guard let type = productTypes[text] else {
                    throw Problem(field: "values", message: "must be product types: \(productTypes.sorted { $0.value < $1.value }.map(\.key).joined(separator: ", "))")
                }
                return String(type)
            }
            let exists =
                "EXISTS (SELECT 1 FROM held_account h WHERE h.customer_id = m.customer_id AND h.product_type IN (\(Array(repeating: "CAST(? AS INTEGER)", count: types.count).joined(separator: ", "))))"
            return (op == .notEquals ? "NOT " + exists : exists, types)
        case .openComplaint:
            try only([.equals])
            try count(1)
            guard values[0] == "true" || values[0] == "false" else { throw Problem(field: "values", message: "must be true or false") }
            let exists =
                "EXISTS (SELECT 1 FROM case_mirror c WHERE c.customer_id = m.customer_id AND c.finished = 0 AND c.kind = \(Crm_Servicedesk_V1_CaseKind.complaint.rawValue))"
            return (values[0] == "true" ? exists : "NOT " + exists, [])
        }
    }

    private static func numeric(
        _ column: String, _ op: Crm_Marketing_V1_SegmentOperator, _ values: [String], count: (Int) throws(Problem) -> Void
    ) throws(Problem) -> (String, [String]) {
        // Bound as text, compared as numbers: CAST keeps the comparison numeric.
        let bound = "CAST(? AS INTEGER)"
        switch op {
        case .equals: try count(1); return ("\(column) = \(bound)", values)
        case .notEquals: try count(1); return ("\(column) != \(bound)", values)
        case .lessThan: try count(1); return ("\(column) < \(bound)", values)
        case .atMost: try count(1); return ("\(column) <= \(bound)", values)
        case .greaterThan: try count(1); return ("\(column) > \(bound)", values)
        case .atLeast: try count(1); return ("\(column) >= \(bound)", values)
        case .between: try count(2); return ("\(column) BETWEEN \(bound) AND \(bound)", values)
        case .in:
            guard !values.isEmpty else { throw Problem(field: "values", message: "must hold 1 or more values") }
            return ("\(column) IN (\(Array(repeating: bound, count: values.count).joined(separator: ", ")))", values)
        case .unspecified, .UNRECOGNIZED: throw Problem(field: "op", message: "is required")
        }
    }

    /// The same day `years` years before (28 February for 29 February in a year without it).
    static func yearsBefore(_ date: LocalDate, _ years: Int) -> LocalDate {
        let year = date.year - years
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        return LocalDate(year: year, month: date.month, day: date.month == 2 && date.day == 29 && !leap ? 28 : date.day)
    }

    static let channels = ["phone", "sms", "email", "mail", "branch", "digital"]

    /// Product type names as segments and reports spell them, with the customer feed's numbers.
    static let productTypes = ["current": 1, "time_deposit": 2, "loan": 3, "card": 4, "wealth": 5, "insurance": 6, "fx": 7]

    /// The lower-case name of a consent channel, nil for none.
    static func channelName(_ channel: Crm_Customer_V1_Channel) -> String? {
        switch channel {
        case .phone: "phone"
        case .sms: "sms"
        case .email: "email"
        case .mail: "mail"
        case .branch: "branch"
        case .digital: "digital"
        case .unspecified, .UNRECOGNIZED: nil
        }
    }
}
