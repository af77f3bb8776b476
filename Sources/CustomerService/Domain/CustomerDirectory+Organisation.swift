public import ServiceRuntime
internal import Foundation
public import GRDB
public import WireProtocol
public import CRMAPI

/// The bank's organisation as reference data: units (head office, regions, branches, sub-branches)
/// in a tree, relationship managers in units, and each customer's manager and branch with their
/// history. Reports roll up through the tree.
extension CustomerDirectory {
    public static let maxReferenceRowsPerCall = 1000
    /// A unit's parent must rank above it: the head office over regions over branches over sub-branches.
    static func allowedParents(of kind: Crm_Customer_V1_OrgUnitKind) -> Set<Crm_Customer_V1_OrgUnitKind> {
        switch kind {
        case .region: [.headOffice]
        case .branch: [.headOffice, .region]
        case .subBranch: [.branch]
        default: []
        }
    }

    // MARK: Units and managers

    public func upsertOrgUnits(_ request: Crm_Customer_V1_UpsertOrgUnitsRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_UpsertOrgUnitsResponse {
        var problems = FieldViolations()
        if request.units.isEmpty || request.units.count > Self.maxReferenceRowsPerCall {
            problems.add("units", "must hold 1 to \(Self.maxReferenceRowsPerCall) units")
        }
        var units: [Crm_Customer_V1_OrgUnit] = []
        for (index, input) in request.units.enumerated() {
            var unit = input
            unit.unitID = problems.code(input.unitID, "units[\(index)].unitId", max: 20, required: true)
            unit.name = problems.text(input.name, "units[\(index)].name", max: 100, required: true)
            unit.parentID = problems.code(input.parentID, "units[\(index)].parentId", max: 20)
            problems.enumeration(known: (0...4).contains(input.kind.rawValue), isUnspecified: input.kind == .unspecified, "units[\(index)].kind", required: true)
            units.append(unit)
        }
        try problems.throwIfAny()
        var response = Crm_Customer_V1_UpsertOrgUnitsResponse()
        let time = nowMilliseconds
        for (index, unit) in units.enumerated() {
            let field = "units[\(index)]"
            if unit.kind == .headOffice {
                if !unit.parentID.isEmpty { problems.add("\(field).parentId", "must be empty for the head office") }
            } else if unit.parentID == unit.unitID {
                problems.add("\(field).parentId", "must not be the unit itself")
            } else if let parent = try Self.orgUnit(unit.parentID, db) {
                if !Self.allowedParents(of: unit.kind).contains(parent.kind) {
                    problems.add("\(field).parentId", "\(parent.unitID) is a \(parent.kind.word); a \(unit.kind.word) belongs under a \(Self.allowedParents(of: unit.kind).map(\.word).sorted().joined(separator: " or "))")
                }
            } else {
                problems.add("\(field).parentId", unit.parentID.isEmpty ? "is required for a \(unit.kind.word)" : "no unit \(unit.parentID) (a parent may come earlier in the same request)")
            }
            let existing = try Self.orgUnit(unit.unitID, db)
            if existing != nil, existing != unit {
                let children = try Row.fetchAll(db, sql: "SELECT unit_id, kind FROM org_unit WHERE parent_id = ?", arguments: [unit.unitID])
                if let child = children.first(where: { !Self.allowedParents(of: .init(rawValue: $0["kind"]) ?? .unspecified).contains(unit.kind) }) {
                    problems.add("\(field).kind", "unit \(child["unit_id"] as String) under it cannot sit under a \(unit.kind.word)")
                }
            }
            try problems.throwIfAny()
            if existing == unit {
                response.unchanged += 1
                continue
            }
            try db.execute(
                sql: """
                    INSERT INTO org_unit (unit_id, kind, name, parent_id, closed, changed_at_ms) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (unit_id) DO UPDATE SET kind = excluded.kind, name = excluded.name, parent_id = excluded.parent_id,
                        closed = excluded.closed, changed_at_ms = excluded.changed_at_ms
                    """,
                arguments: [unit.unitID, unit.kind.rawValue, unit.name, unit.parentID.isEmpty ? nil : unit.parentID, unit.closed, time])
            try AuditLog.append(
                [.init(customerKey: 0, action: "org-unit", field: "units[\(unit.unitID)]", before: existing.map(ProfileDiff.json) ?? "", after: ProfileDiff.json(unit))],
                caller: caller, atMilliseconds: time, db)
            if existing == nil { response.created += 1 } else { response.updated += 1 }
        }
        return response
    }

    public func upsertRelationshipManagers(
        _ request: Crm_Customer_V1_UpsertRelationshipManagersRequest, caller: Caller, _ db: Database
    ) throws -> Crm_Customer_V1_UpsertRelationshipManagersResponse {
        var problems = FieldViolations()
        if request.managers.isEmpty || request.managers.count > Self.maxReferenceRowsPerCall {
            problems.add("managers", "must hold 1 to \(Self.maxReferenceRowsPerCall) managers")
        }
        var managers: [Crm_Customer_V1_RelationshipManager] = []
        for (index, input) in request.managers.enumerated() {
            var manager = input
            manager.relationshipManagerID = problems.code(input.relationshipManagerID, "managers[\(index)].relationshipManagerId", max: 20, required: true)
            manager.name = problems.text(input.name, "managers[\(index)].name", max: 100, required: true)
            manager.unitID = problems.code(input.unitID, "managers[\(index)].unitId", max: 20, required: true)
            if !manager.unitID.isEmpty, try Self.orgUnit(manager.unitID, db) == nil {
                problems.add("managers[\(index)].unitId", "no unit \(manager.unitID)")
            }
            managers.append(manager)
        }
        try problems.throwIfAny()
        var response = Crm_Customer_V1_UpsertRelationshipManagersResponse()
        let time = nowMilliseconds
        for manager in managers {
            let existing = try Self.relationshipManager(manager.relationshipManagerID, db)
            if existing == manager {
                response.unchanged += 1
                continue
            }
            try db.execute(
                sql: """
                    INSERT INTO relationship_manager (rm_id, name, unit_id, departed, changed_at_ms) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (rm_id) DO UPDATE SET name = excluded.name, unit_id = excluded.unit_id, departed = excluded.departed,
                        changed_at_ms = excluded.changed_at_ms
                    """,
                arguments: [manager.relationshipManagerID, manager.name, manager.unitID, manager.departed, time])
            try AuditLog.append(
                [.init(
                    customerKey: 0, action: "relationship-manager", field: "managers[\(manager.relationshipManagerID)]",
                    before: existing.map(ProfileDiff.json) ?? "", after: ProfileDiff.json(manager))],
                caller: caller, atMilliseconds: time, db)
            if existing == nil { response.created += 1 } else { response.updated += 1 }
        }
        return response
    }

    // MARK: Assignment

    /// Once reference data is loaded, a customer's branch must be an open unit and the manager one
    /// who has not departed. Before any is loaded (a fresh installation) codes are taken as given.
    func checkPlacement(relationshipManagerID: String, branchID: String, fieldPrefix: String, _ db: Database) throws {
        var problems = FieldViolations()
        if !branchID.isEmpty, try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM org_unit)")) == true {
            if let unit = try Self.orgUnit(branchID, db) {
                if unit.closed { problems.add("\(fieldPrefix)branchId", "unit \(branchID) is closed") }
            } else {
                problems.add("\(fieldPrefix)branchId", "no unit \(branchID)")
            }
        }
        if !relationshipManagerID.isEmpty, try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM relationship_manager)")) == true {
            if let manager = try Self.relationshipManager(relationshipManagerID, db) {
                if manager.departed { problems.add("\(fieldPrefix)relationshipManagerId", "\(relationshipManagerID) has departed") }
            } else {
                problems.add("\(fieldPrefix)relationshipManagerId", "no relationship manager \(relationshipManagerID)")
            }
        }
        try problems.throwIfAny()
    }

    /// Ends the customer's current assignment and starts a new one, if the manager or branch changed.
    func recordAssignment(customerKey: Int64, relationshipManagerID: String, branchID: String, reason: String, caller: Caller, time: Int64, _ db: Database) throws {
        let current = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT assignment_id, rm_id, branch_id FROM rm_assignment WHERE customer_key = ? AND until_ms IS NULL"),
            arguments: [customerKey])
        if let current, current["rm_id"] == relationshipManagerID, current["branch_id"] == branchID { return }
        if current == nil, relationshipManagerID.isEmpty, branchID.isEmpty { return }
        if let current {
            try db.cachedStatement(sql: "UPDATE rm_assignment SET until_ms = ? WHERE assignment_id = ?").execute(arguments: [time, current["assignment_id"]])
        }
        try db.cachedStatement(
            sql: "INSERT INTO rm_assignment (customer_key, rm_id, branch_id, from_ms, reason, assigned_by) VALUES (?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [customerKey, relationshipManagerID, branchID, time, reason, caller.actor])
    }

    public func assignRelationshipManager(
        _ request: Crm_Customer_V1_AssignRelationshipManagerRequest, caller: Caller, _ db: Database
    ) throws -> Crm_Customer_V1_AssignRelationshipManagerResponse {
        let key = try Self.key(request.customerID, field: "customerId")
        var problems = FieldViolations()
        let managerID = problems.code(request.relationshipManagerID, "relationshipManagerId", max: 20, required: true)
        var branchID = problems.code(request.branchID, "branchId", max: 20)
        let reason = problems.text(request.reason, "reason", max: 200, required: true)
        try problems.throwIfAny()
        let current = try loadForChange(key: key, id: request.customerID, expectedVersion: request.expectedVersion, db)
        guard current.status == .active || current.status == .inactive else {
            throw CustomerErrors.wrongStatus(request.customerID, status: current.status, action: "assigned")
        }
        if branchID.isEmpty {
            guard let manager = try Self.relationshipManager(managerID, db) else {
                problems.add("relationshipManagerId", "no relationship manager \(managerID)")
                try problems.throwIfAny()
                return .init()
            }
            branchID = manager.unitID
        }
        try checkPlacement(relationshipManagerID: managerID, branchID: branchID, fieldPrefix: "", db)
        var response = Crm_Customer_V1_AssignRelationshipManagerResponse()
        guard managerID != current.profile.relationshipManagerID || branchID != current.profile.branchID else {
            response.customer = try view(key: key, caller: caller, db)
            return response
        }
        let time = nowMilliseconds
        try db.cachedStatement(
            sql: "UPDATE customer SET relationship_manager_id = ?, branch_id = ?, version = version + 1, updated_at_ms = ? WHERE key = ?"
        ).execute(arguments: [managerID, branchID, time, key])
        try recordAssignment(customerKey: key, relationshipManagerID: managerID, branchID: branchID, reason: reason, caller: caller, time: time, db)
        try AuditLog.append(
            [
                .init(customerKey: key, action: "assign", field: "relationshipManagerId", before: current.profile.relationshipManagerID, after: managerID),
                .init(customerKey: key, action: "assign", field: "branchId", before: current.profile.branchID, after: branchID),
                .init(customerKey: key, action: "assign", field: "reason", before: "", after: reason),
            ],
            caller: caller, atMilliseconds: time, db)
        response.customer = try view(key: key, caller: caller, db)
        return response
    }

    public func listAssignments(_ request: Crm_Customer_V1_ListAssignmentsRequest, _ db: Database) throws -> Crm_Customer_V1_ListAssignmentsResponse {
        let key = try Self.key(request.customerID, field: "customerId")
        guard try Bool.fetchOne(db, sql: "SELECT 1 FROM customer WHERE key = ?", arguments: [key]) != nil else {
            throw CustomerErrors.notFound(request.customerID)
        }
        var response = Crm_Customer_V1_ListAssignmentsResponse()
        response.assignments = try StatementRow.readAll(
            db, sql: "SELECT * FROM rm_assignment WHERE customer_key = ? ORDER BY assignment_id DESC LIMIT 500", arguments: [key]
        ) { row in
            var assignment = Crm_Customer_V1_Assignment()
            assignment.relationshipManagerID = row["rm_id"]
            assignment.branchID = row["branch_id"]
            assignment.fromTime.milliseconds = row["from_ms"]
            if let until: Int64 = row["until_ms"] { assignment.untilTime.milliseconds = until }
            assignment.reason = row["reason"]
            assignment.assignedBy = row["assigned_by"]
            return assignment
        }
        return response
    }

    // MARK: Reading the tree

    public func getOrgUnit(_ request: Crm_Customer_V1_GetOrgUnitRequest, _ db: Database) throws -> Crm_Customer_V1_GetOrgUnitResponse {
        var problems = FieldViolations()
        let unitID = problems.code(request.unitID, "unitId", max: 20, required: true)
        try problems.throwIfAny()
        guard let unit = try Self.orgUnit(unitID, db) else {
            throw RPCError(code: .notFound, message: "no unit \(unitID)", reason: .unitNotFound, processing: .notProcessed)
        }
        var response = Crm_Customer_V1_GetOrgUnitResponse()
        response.unit = unit
        response.path = try branchPath(unit.parentID, db)
        response.children = try StatementRow.readAll(db, sql: "SELECT * FROM org_unit WHERE parent_id = ? ORDER BY unit_id", arguments: [unitID], Self.orgUnit)
        response.managers = try StatementRow.readAll(db, sql: "SELECT * FROM relationship_manager WHERE unit_id = ? ORDER BY rm_id", arguments: [unitID], Self.relationshipManager)
        response.rollup = try rollup(under: unitID, db)
        return response
    }

    /// The units from the head office down to `unitID` (inclusive); empty for no unit.
    func branchPath(_ unitID: String, _ db: Database) throws -> [Crm_Customer_V1_OrgUnit] {
        var path: [Crm_Customer_V1_OrgUnit] = []
        var next = unitID
        // The kind order makes the tree acyclic; the bound guards against a hand-edited database.
        while !next.isEmpty, path.count < 10, let unit = try Self.orgUnit(next, db) {
            path.insert(unit, at: 0)
            next = unit.parentID
        }
        return path
    }

    /// Customers whose branch is in the unit's subtree, with their accounts, summed.
    private func rollup(under unitID: String, _ db: Database) throws -> Crm_Customer_V1_OrgRollup {
        let live = "(\(Crm_Customer_V1_CustomerStatus.active.rawValue), \(Crm_Customer_V1_CustomerStatus.inactive.rawValue))"
        let subtree = """
            WITH RECURSIVE subtree(unit_id) AS (
                SELECT ? UNION SELECT org_unit.unit_id FROM org_unit JOIN subtree ON org_unit.parent_id = subtree.unit_id)
            """
        var rollup = Crm_Customer_V1_OrgRollup()
        rollup.customersByGrade = [0, 0, 0, 0, 0]
        let grades = try Row.fetchAll(
            db,
            sql: """
                \(subtree)
                SELECT c.value_grade AS grade, c.status AS status, count(*) AS customers
                FROM subtree JOIN customer c ON c.branch_id = subtree.unit_id
                WHERE c.status IN \(live) GROUP BY c.value_grade, c.status
                """,
            arguments: [unitID])
        for row in grades {
            let grade: Int = row["grade"]
            let count: UInt64 = row["customers"]
            rollup.customers += count
            if row["status"] == Crm_Customer_V1_CustomerStatus.active.rawValue { rollup.activeCustomers += count }
            if (1...5).contains(grade) { rollup.customersByGrade[grade - 1] += count }
        }
        if let sums = try Row.fetchOne(
            db,
            sql: """
                \(subtree)
                SELECT
                    sum(CASE WHEN a.product_type NOT IN \(Grading.liabilityTypes) AND h.role IN \(Grading.ownedRoles) THEN a.reporting_balance_minor ELSE 0 END) AS assets,
                    sum(CASE WHEN a.product_type IN \(Grading.liabilityTypes) THEN a.reporting_balance_minor ELSE 0 END) AS liabilities,
                    sum(CASE WHEN h.role IN \(Grading.ownedRoles) THEN a.monthly_contribution_minor ELSE 0 END) AS contribution
                FROM subtree JOIN customer c ON c.branch_id = subtree.unit_id
                JOIN account_holder h ON h.customer_key = c.key JOIN account a ON a.account_number = h.account_number
                WHERE c.status IN \(live) AND a.closed_on = ''
                """,
            arguments: [unitID])
        {
            rollup.reportingAssetsMinor = sums["assets"] ?? 0
            rollup.reportingLiabilitiesMinor = sums["liabilities"] ?? 0
            rollup.monthlyContributionMinor = sums["contribution"] ?? 0
        }
        return rollup
    }

    static func orgUnit(_ id: String, _ db: Database) throws -> Crm_Customer_V1_OrgUnit? {
        guard !id.isEmpty else { return nil }
        return try StatementRow.readFirst(db.cachedStatement(sql: "SELECT * FROM org_unit WHERE unit_id = ?"), arguments: [id], orgUnit)
    }

    static func orgUnit(_ row: StatementRow) -> Crm_Customer_V1_OrgUnit {
        var unit = Crm_Customer_V1_OrgUnit()
        unit.unitID = row["unit_id"]
        unit.kind = .init(rawValue: row["kind"]) ?? .unspecified
        unit.name = row["name"]
        unit.parentID = row["parent_id"] ?? ""
        unit.closed = row["closed"]
        return unit
    }

    static func relationshipManager(_ id: String, _ db: Database) throws -> Crm_Customer_V1_RelationshipManager? {
        guard !id.isEmpty else { return nil }
        return try StatementRow.readFirst(db.cachedStatement(sql: "SELECT * FROM relationship_manager WHERE rm_id = ?"), arguments: [id], relationshipManager)
    }

    static func relationshipManager(_ row: StatementRow) -> Crm_Customer_V1_RelationshipManager {
        var manager = Crm_Customer_V1_RelationshipManager()
        manager.relationshipManagerID = row["rm_id"]
        manager.name = row["name"]
        manager.unitID = row["unit_id"]
        manager.departed = row["departed"]
        return manager
    }
}

extension Crm_Customer_V1_OrgUnitKind {
    var word: String {
        switch self {
        case .headOffice: "head office"
        case .region: "region"
        case .branch: "branch"
        case .subBranch: "sub-branch"
        default: "unit of unknown kind"
        }
    }
}
