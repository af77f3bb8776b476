@testable import CustomerService
import Foundation
import GRDB
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI

@Suite("Organisation, relationship managers and assignment history")
struct OrganisationTests {
    static func unit(_ id: String, _ kind: Crm_Customer_V1_OrgUnitKind, parent: String = "", closed: Bool = false) -> Crm_Customer_V1_OrgUnit {
        var unit = Crm_Customer_V1_OrgUnit()
        unit.unitID = id
        unit.kind = kind
        unit.name = "Unit \(id)"
        unit.parentID = parent
        unit.closed = closed
        return unit
    }

    static func manager(_ id: String, unit: String, departed: Bool = false) -> Crm_Customer_V1_RelationshipManager {
        var manager = Crm_Customer_V1_RelationshipManager()
        manager.relationshipManagerID = id
        manager.name = "Manager \(id)"
        manager.unitID = unit
        manager.departed = departed
        return manager
    }

    func upsert(_ fixture: TemporaryCustomerStore, _ units: [Crm_Customer_V1_OrgUnit]) async throws -> Crm_Customer_V1_UpsertOrgUnitsResponse {
        var request = Crm_Customer_V1_UpsertOrgUnitsRequest()
        request.units = units
        let finished = request
        return try await fixture.write { directory, db in try directory.upsertOrgUnits(finished, caller: .servicing, db) }
    }

    func upsert(_ fixture: TemporaryCustomerStore, managers: [Crm_Customer_V1_RelationshipManager]) async throws
        -> Crm_Customer_V1_UpsertRelationshipManagersResponse
    {
        var request = Crm_Customer_V1_UpsertRelationshipManagersRequest()
        request.managers = managers
        let finished = request
        return try await fixture.write { directory, db in try directory.upsertRelationshipManagers(finished, caller: .servicing, db) }
    }

    func assign(_ fixture: TemporaryCustomerStore, _ id: String, version: Int64, manager: String, branch: String = "") async throws
        -> Crm_Customer_V1_Customer
    {
        var request = Crm_Customer_V1_AssignRelationshipManagerRequest()
        request.customerID = id
        request.expectedVersion = version
        request.relationshipManagerID = manager
        request.branchID = branch
        request.reason = "portfolio rebalanced"
        let finished = request
        return try await fixture.write { directory, db in try directory.assignRelationshipManager(finished, caller: .servicing, db) }.customer
    }

    func orgUnit(_ fixture: TemporaryCustomerStore, _ id: String) async throws -> Crm_Customer_V1_GetOrgUnitResponse {
        var request = Crm_Customer_V1_GetOrgUnitRequest()
        request.unitID = id
        let finished = request
        return try await fixture.read { directory, db in try directory.getOrgUnit(finished, db) }
    }

    /// HO > R-N > BJ-01 > BJ-01-A, and RM001 in BJ-01, RM002 in BJ-01-A.
    func organised() async throws -> TemporaryCustomerStore {
        let fixture = try TemporaryCustomerStore()
        let created = try await upsert(
            fixture, [Self.unit("HO", .headOffice), Self.unit("R-N", .region, parent: "HO"), Self.unit("BJ-01", .branch, parent: "R-N"),
                      Self.unit("BJ-01-A", .subBranch, parent: "BJ-01")])
        #expect(created.created == 4)
        _ = try await upsert(fixture, managers: [Self.manager("RM001", unit: "BJ-01"), Self.manager("RM002", unit: "BJ-01-A")])
        return fixture
    }

    @Test("the tree is kept in rank order: parents must exist and rank above; a repeat changes nothing")
    func treeRules() async throws {
        let fixture = try await organised()
        #expect(try await upsert(fixture, [Self.unit("R-N", .region, parent: "HO")]).unchanged == 1)
        for (units, field) in [
            ([Self.unit("X", .branch, parent: "BJ-01-A")], "units[0].parentId"),
            ([Self.unit("X", .branch, parent: "NOWHERE")], "units[0].parentId"),
            ([Self.unit("X", .branch)], "units[0].parentId"),
            ([Self.unit("HO2", .headOffice, parent: "HO")], "units[0].parentId"),
            ([Self.unit("BJ-01", .subBranch, parent: "BJ-01")], "units[0].parentId"),
            ([Self.unit("R-N", .branch, parent: "HO")], "units[0].kind"),
            ([Self.unit("bad id!", .branch, parent: "HO")], "units[0].unitId"),
            ([Self.unit("X", .unspecified, parent: "HO")], "units[0].kind"),
        ] {
            let error = await #expect(throws: RPCError.self) { try await upsert(fixture, units) }
            #expect(error?.fieldViolations.first?.field == field, "\(units.map(\.unitID)): \(error?.fieldViolations ?? [])")
        }
        let refused = await #expect(throws: RPCError.self) { try await upsert(fixture, managers: [Self.manager("RM9", unit: "NOWHERE")]) }
        #expect(refused?.fieldViolations.first?.field == "managers[0].unitId")
        // All or nothing: a bad unit after a good one leaves neither.
        _ = await #expect(throws: RPCError.self) { try await upsert(fixture, [Self.unit("BJ-02", .branch, parent: "R-N"), Self.unit("Y", .branch)]) }
        #expect(try await fixture.read { _, db in try Int.fetchOne(db, sql: "SELECT count(*) FROM org_unit") } == 4)
    }

    @Test("once reference data is loaded, customers name existing open branches and managers who have not departed")
    func placementChecked() async throws {
        let fixture = try await organised()
        _ = try await upsert(fixture, [Self.unit("BJ-09", .branch, parent: "R-N", closed: true)])
        _ = try await upsert(fixture, managers: [Self.manager("RM003", unit: "BJ-01", departed: true)])
        for (manager, branch, field) in [
            ("RM999", "BJ-01", "profile.relationshipManagerId"), ("RM003", "BJ-01", "profile.relationshipManagerId"),
            ("RM001", "XX", "profile.branchId"), ("RM001", "BJ-09", "profile.branchId"),
        ] {
            var profile = Profiles.individual()
            profile.relationshipManagerID = manager
            profile.branchID = branch
            let error = await #expect(throws: RPCError.self) { try await fixture.create(profile) }
            #expect(error?.fieldViolations.map(\.field) == [field])
        }
        #expect(try await fixture.create(Profiles.individual()).customer.profile.branchID == "BJ-01")
    }

    @Test("assignment: versioned, audited, the branch defaults to the manager's unit, and the history keeps every period")
    func assignment() async throws {
        let fixture = try await organised()
        let created = try await fixture.create(Profiles.individual()).customer
        let stale = await #expect(throws: RPCError.self) { try await assign(fixture, created.id, version: 9, manager: "RM002") }
        #expect(stale?.code == .aborted)
        let assigned = try await assign(fixture, created.id, version: 1, manager: "RM002")
        #expect(assigned.version == 2)
        #expect((assigned.profile.relationshipManagerID, assigned.profile.branchID) == ("RM002", "BJ-01-A"))
        // Assigning the same again changes nothing.
        #expect(try await assign(fixture, created.id, version: 2, manager: "RM002").version == 2)

        var request = Crm_Customer_V1_ListAssignmentsRequest()
        request.customerID = created.id
        let finished = request
        let history = try await fixture.read { directory, db in try directory.listAssignments(finished, db) }.assignments
        #expect(history.map(\.relationshipManagerID) == ["RM002", "RM001"])
        #expect(history[0].untilTime.milliseconds == 0 && history[0].reason == "portfolio rebalanced")
        #expect(history[1].untilTime.milliseconds == history[0].fromTime.milliseconds && history[1].reason == "customer created")
        #expect(history[0].assignedBy == "branch-teller/u1001")
        let audited = try await fixture.read { _, db in
            try String.fetchAll(db, sql: "SELECT field || '=' || after FROM audit_log WHERE action = 'assign' ORDER BY sequence")
        }
        #expect(audited == ["relationshipManagerId=RM002", "branchId=BJ-01-A", "reason=portfolio rebalanced"])
    }

    @Test("a profile update that moves the customer starts a new assignment period; one that keeps manager and branch starts none")
    func assignmentByUpdate() async throws {
        let fixture = try await organised()
        let created = try await fixture.create(Profiles.individual()).customer
        var profile = created.profile
        profile.preferredChannel = profile.preferredChannel == .sms ? .email : .sms
        let kept = try await fixture.update(created.id, version: 1, to: profile).customer
        profile.relationshipManagerID = "RM002"
        profile.branchID = "BJ-01-A"
        _ = try await fixture.update(created.id, version: kept.version, to: profile)
        var request = Crm_Customer_V1_ListAssignmentsRequest()
        request.customerID = created.id
        let finished = request
        let history = try await fixture.read { directory, db in try directory.listAssignments(finished, db) }.assignments
        #expect(history.map(\.relationshipManagerID) == ["RM002", "RM001"])
        #expect(history.map(\.reason) == ["profile updated", "customer created"])
        #expect(history[1].untilTime.milliseconds == history[0].fromTime.milliseconds)
    }

    @Test("a unit rolls up the customers and accounts of its whole subtree; the view shows manager and branch path")
    func rollupAndView() async throws {
        let fixture = try await organised()
        let first = try await fixture.create(Profiles.individual()).customer
        var second = Profiles.individual(nameZh: "李四", nameLatin: "Li Si", residentID: nil, phone: "13900000000")
        second.relationshipManagerID = "RM002"
        second.branchID = "BJ-01-A"
        let other = try await fixture.create(second).customer
        _ = try await fixture.upsert([
            Holdings.make("6222000000000001", customer: first.id, balanceYuan: 1_000, contributionYuan: 5),
            Holdings.make("6222000000000002", customer: other.id, balanceYuan: 3_000, contributionYuan: 7),
            Holdings.make("6222000000000003", customer: other.id, type: .loan, balanceYuan: 500, contributionYuan: 2),
        ])
        let region = try await orgUnit(fixture, "R-N")
        #expect(region.path.map(\.unitID) == ["HO"])
        #expect(region.children.map(\.unitID) == ["BJ-01"])
        #expect(region.rollup.customers == 2 && region.rollup.activeCustomers == 2)
        #expect(region.rollup.reportingAssetsMinor == 400_000)
        #expect(region.rollup.reportingLiabilitiesMinor == 50_000)
        #expect(region.rollup.monthlyContributionMinor == 1_400)
        #expect(region.rollup.customersByGrade.reduce(0, +) == 2)
        let subBranch = try await orgUnit(fixture, "BJ-01-A")
        #expect(subBranch.rollup.customers == 1 && subBranch.rollup.reportingAssetsMinor == 300_000)
        #expect(subBranch.managers.map(\.relationshipManagerID) == ["RM002"])
        // The hierarchy is published for the services whose reports roll up through it.
        let published = try await fixture.read { _, db in
            try String.fetchAll(db, sql: "SELECT type || ' ' || entity_key FROM change_log WHERE type LIKE 'org.%' ORDER BY sequence")
        }
        #expect(published == [
            "org.unit.changed unit:HO", "org.unit.changed unit:R-N", "org.unit.changed unit:BJ-01", "org.unit.changed unit:BJ-01-A",
            "org.manager.changed manager:RM001", "org.manager.changed manager:RM002",
        ])
        let missing = await #expect(throws: RPCError.self) { try await orgUnit(fixture, "NOWHERE") }
        #expect(missing?.code == .notFound)

        let view = try await fixture.view(other.id)
        #expect(view.relationshipManager.name == "Manager RM002")
        #expect(view.branchPath.map(\.unitID) == ["HO", "R-N", "BJ-01", "BJ-01-A"])
    }
}
