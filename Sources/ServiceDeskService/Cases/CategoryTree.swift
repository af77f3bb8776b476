public import GRDB
internal import ServiceRuntime
public import WireProtocol
public import CRMAPI

/// The managed category tree: paths with the names agents see. Once a tree is set, new cases must
/// use one of its live paths; a path cases use can be retired but not removed, so that old cases
/// and reports keep a name for it.
extension CaseDesk {
    public static let maxCategories = 2_000

    /// Versioned in ``SettingsHistory`` under this name.
    static let categoriesSettings = "categories"

    public func setCategories(
        _ request: Crm_Servicedesk_V1_SetCategoriesRequest, actor: String, _ db: Database
    ) throws -> Crm_Servicedesk_V1_SetCategoriesResponse {
        var violations = FieldViolations()
        if request.categories.count > Self.maxCategories { violations.add("categories", "must be at most \(Self.maxCategories)") }
        var paths = Set<String>()
        for (index, category) in request.categories.enumerated() {
            let path = violations.categoryPath(category.path, "categories[\(index)].path")
            _ = violations.text(category.name, "categories[\(index)].name", max: 100, required: true)
            if !path.isEmpty, !paths.insert(path).inserted { violations.add("categories[\(index)].path", "repeats an earlier path") }
        }
        for (index, category) in request.categories.enumerated() {
            guard let slash = category.path.lastIndex(of: "/") else { continue }
            let parent = String(category.path[..<slash])
            if !paths.contains(parent) { violations.add("categories[\(index)].path", "needs its parent \(parent) in the tree") }
        }
        if !request.categories.isEmpty {
            let used = try String.fetchAll(db.cachedStatement(sql: "SELECT DISTINCT category FROM service_case ORDER BY category"))
            for path in used where !paths.contains(path) {
                violations.add("categories", "must keep \(path): cases use it (retire it instead)")
            }
        }
        try violations.throwIfAny()

        var response = Crm_Servicedesk_V1_SetCategoriesResponse()
        response.version = try SettingsHistory.replace(
            Self.categoriesSettings, expectedVersion: request.expectedVersion, setBy: actor, atMilliseconds: now().milliseconds, db,
            apply: {
                try db.cachedStatement(sql: "DELETE FROM case_category").execute()
                for category in request.categories {
                    try db.cachedStatement(sql: "INSERT INTO case_category (path, name, retired) VALUES (?, ?, ?)").execute(
                        arguments: [category.path.trimmingWhitespace(), category.name.trimmingWhitespace(), category.retired])
                }
            },
            inForce: { try categoriesInForce(db) })
        response.categories = UInt32(request.categories.count)
        return response
    }

    /// ServiceDesk.ListCategories: the tree in force or as an earlier Set left it.
    public func listCategories(_ request: Crm_Servicedesk_V1_ListCategoriesRequest, _ db: Database) throws -> Crm_Servicedesk_V1_ListCategoriesResponse {
        var (response, entry) = try SettingsHistory.read(Self.categoriesSettings, version: request.version, db) { try categoriesInForce(db) }
        if let entry { (response.version, response.setAt.milliseconds, response.setBy) = (entry.version, entry.setAtMilliseconds, entry.setBy) }
        return response
    }

    func categoriesInForce(_ db: Database) throws -> Crm_Servicedesk_V1_ListCategoriesResponse {
        var response = Crm_Servicedesk_V1_ListCategoriesResponse()
        // In path order a parent comes before its children (a string sorts before any it prefixes).
        response.categories = try StatementRow.readAll(db.cachedStatement(sql: "SELECT path, name, retired FROM case_category ORDER BY path")) { row in
            var category = Crm_Servicedesk_V1_Category()
            (category.path, category.name, category.retired) = (row[0], row[1], row[2])
            return category
        }
        return response
    }

    /// Whether a new case may use `path`: any path while no tree is set, else a live one in it.
    func categoryTakesNewCases(_ path: String, _ db: Database) throws -> Bool {
        guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM case_category LIMIT 1")) == true else { return true }
        return try Bool.fetchOne(db.cachedStatement(sql: "SELECT NOT retired FROM case_category WHERE path = ?"), arguments: [path]) == true
    }
}
