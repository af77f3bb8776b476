@testable import CustomerService
import Foundation
import GRDB
import ServiceRuntime
import SwiftProtobuf
import Testing
import WireProtocol
internal import CRMAPI

@Suite("Households and corporate groups")
struct HouseholdAndGroupTests {
    func member(_ id: String, _ role: Crm_Customer_V1_HouseholdRole) -> Crm_Customer_V1_HouseholdMember {
        Households.member(id, role)
    }

    func corporate(_ fixture: TemporaryCustomerStore, _ name: String) async throws -> Crm_Customer_V1_Customer {
        var profile = Crm_Customer_V1_CustomerProfile()
        profile.kind = .corporate
        profile.corporate.legalName = name
        return try await fixture.create(profile).customer
    }

    @Test("a household groups individuals with roles and rolls up their accounts, a joint account once")
    func household() async throws {
        let fixture = try TemporaryCustomerStore()
        let husband = try await fixture.create(Profiles.individual()).customer
        let wife = try await fixture.create(Profiles.individual(nameZh: "李梅", residentID: nil, phone: nil)).customer
        let child = try await fixture.create(Profiles.individual(nameZh: "张小明", residentID: nil, phone: nil)).customer
        _ = try await fixture.upsert([
            Holdings.make("JT0001", customer: husband.id, role: .owner, balanceYuan: 300_000),
            Holdings.make("JT0001", customer: wife.id, role: .jointOwner, balanceYuan: 300_000),
            Holdings.make("CA0002", customer: wife.id, balanceYuan: 50_000),
            Holdings.make("LN0003", customer: husband.id, type: .loan, balanceYuan: 1_000_000),
        ])
        var create = Crm_Customer_V1_CreateHouseholdRequest()
        create.name = "张家"
        create.members = [member(husband.id, .head), member(wife.id, .spouse)]
        let request = create
        let created = try await fixture.write { directory, db in try directory.createHousehold(request, caller: .servicing, db) }
        #expect(created.household.id == "H0000000001")
        #expect(created.household.members.map(\.displayName) == ["张三", "李梅"])
        #expect(created.openAccounts == 3)
        #expect(created.reportingAssetsMinor == 35_000_000)
        #expect(created.reportingLiabilitiesMinor == 100_000_000)
        // The single customer view carries the household and its rollup.
        let view = try await fixture.view(wife.id)
        #expect(view.household.household.id == "H0000000001")
        #expect(view.household.reportingAssetsMinor == 35_000_000)
        #expect(try await fixture.view(child.id).hasHousehold == false)

        var add = Crm_Customer_V1_SetHouseholdMemberRequest()
        add.householdID = created.household.id
        add.member = member(child.id, .child)
        let addChild = add
        let grown = try await fixture.write { directory, db in try directory.setHouseholdMember(addChild, caller: .servicing, db) }
        #expect(grown.household.members.count == 3)

        add.member = member(child.id, .head)
        let secondHead = add
        let error = await #expect(throws: RPCError.self) {
            try await fixture.write { directory, db in try directory.setHouseholdMember(secondHead, caller: .servicing, db) }
        }
        #expect(error?.reason == "HOUSEHOLD_HAS_HEAD")

        create.name = "另一家"
        create.members = [member(child.id, .head)]
        let elsewhere = create
        let twice = await #expect(throws: RPCError.self) {
            try await fixture.write { directory, db in try directory.createHousehold(elsewhere, caller: .servicing, db) }
        }
        #expect(twice?.reason == "IN_ANOTHER_HOUSEHOLD")

        let company = try await corporate(fixture, "ACME Ltd.")
        add.member = member(company.id, .other)
        let notPerson = add
        let corporateError = await #expect(throws: RPCError.self) {
            try await fixture.write { directory, db in try directory.setHouseholdMember(notPerson, caller: .servicing, db) }
        }
        #expect(corporateError?.reason == "NOT_A_PERSON")

        for id in [child.id, wife.id, husband.id] {
            var remove = Crm_Customer_V1_RemoveHouseholdMemberRequest()
            remove.householdID = created.household.id
            remove.customerID = id
            let finished = remove
            _ = try await fixture.write { directory, db in try directory.removeHouseholdMember(finished, caller: .servicing, db) }
        }
        var get = Crm_Customer_V1_GetHouseholdRequest()
        get.householdID = created.household.id
        let gone = get
        #expect(await #expect(throws: RPCError.self) { try await fixture.read { directory, db in try directory.getHousehold(gone, db) } }?.code == .notFound)
    }

    @Test("a corporate group of any depth rolls up deposits and loan exposure against the group limit")
    func corporateGroup() async throws {
        let fixture = try TemporaryCustomerStore()
        let holding = try await corporate(fixture, "Holding Group Co.")
        let steel = try await corporate(fixture, "Steel Co.")
        let mill = try await corporate(fixture, "Steel Mill No. 3")
        let shipping = try await corporate(fixture, "Shipping Co.")
        for (parent, child) in [(holding, steel), (steel, mill), (holding, shipping)] {
            var link = Crm_Customer_V1_LinkSubsidiaryRequest()
            link.parentID = parent.id
            link.subsidiaryID = child.id
            let finished = link
            _ = try await fixture.write { directory, db in try directory.linkSubsidiary(finished, caller: .servicing, db) }
        }
        _ = try await fixture.upsert([
            Holdings.make("CA1001", customer: holding.id, balanceYuan: 10_000_000),
            Holdings.make("LN1002", customer: mill.id, type: .loan, balanceYuan: 30_000_000),
            Holdings.make("LN1002", customer: holding.id, type: .loan, role: .guarantor, balanceYuan: 30_000_000),
            Holdings.make("LN1003", customer: shipping.id, type: .loan, balanceYuan: 5_000_000),
        ])
        var limit = Crm_Customer_V1_SetGroupCreditLimitRequest()
        limit.groupRootID = holding.id
        limit.limitMinor = 3_000_000_000
        let setLimit = limit
        _ = try await fixture.write { directory, db in try directory.setGroupCreditLimit(setLimit, caller: .servicing, db) }

        var get = Crm_Customer_V1_GetCorporateGroupRequest()
        get.customerID = mill.id
        let request = get
        let group = try await fixture.read { directory, db in try directory.getCorporateGroup(request, db) }
        #expect(group.rootID == holding.id)
        #expect(group.members.map(\.legalName) == ["Holding Group Co.", "Steel Co.", "Steel Mill No. 3", "Shipping Co."])
        #expect(group.members.map(\.depth) == [0, 1, 2, 1])
        #expect(group.members[2].parentID == steel.id)
        #expect(group.groupDepositsMinor == 1_000_000_000)
        #expect(group.groupLoanExposureMinor == 3_500_000_000, "the guaranteed loan counts once")
        #expect(group.groupCreditLimitMinor == 3_000_000_000)
        #expect(group.overLimit)

        var cycle = Crm_Customer_V1_LinkSubsidiaryRequest()
        cycle.parentID = mill.id
        cycle.subsidiaryID = holding.id
        let badLink = cycle
        let error = await #expect(throws: RPCError.self) {
            try await fixture.write { directory, db in try directory.linkSubsidiary(badLink, caller: .servicing, db) }
        }
        #expect(error?.reason == "GROUP_CYCLE")

        limit.groupRootID = steel.id
        let notRoot = limit
        #expect(await #expect(throws: RPCError.self) {
            try await fixture.write { directory, db in try directory.setGroupCreditLimit(notRoot, caller: .servicing, db) }
        }?.reason == "NOT_GROUP_ROOT")

        let other = try await corporate(fixture, "Steel Co")
        let refused = await #expect(throws: RPCError.self) {
            try await fixture.merge(survivor: other, merged: try await fixture.get(steel.id))
        }
        #expect(refused?.reason == "IN_CORPORATE_GROUP")

        var unlink = Crm_Customer_V1_UnlinkSubsidiaryRequest()
        unlink.subsidiaryID = steel.id
        let finished = unlink
        _ = try await fixture.write { directory, db in try directory.unlinkSubsidiary(finished, caller: .servicing, db) }
        let split = try await fixture.read { directory, db in try directory.getCorporateGroup(request, db) }
        #expect(split.rootID == steel.id)
        #expect(split.members.count == 2)
    }

    @Test("a merged record's household membership moves to a survivor without one, and unmerge puts it back")
    func householdMerge() async throws {
        let fixture = try TemporaryCustomerStore()
        let first = try await fixture.create(Profiles.individual()).customer
        let second = try await fixture.create(Profiles.individual(nameZh: "张叁", residentID: nil, phone: nil)).customer
        var create = Crm_Customer_V1_CreateHouseholdRequest()
        create.name = "张家"
        create.members = [member(second.id, .head)]
        let request = create
        _ = try await fixture.write { directory, db in try directory.createHousehold(request, caller: .servicing, db) }
        let before = try await fixture.content([first.id, second.id])
        let result = try await fixture.merge(survivor: first, merged: try await fixture.get(second.id))
        let household = try await fixture.read { directory, db in
            try directory.getHousehold(.with { $0.householdID = "H0000000001" }, db)
        }
        #expect(household.household.members.map(\.customerID) == [first.id])
        _ = try await fixture.unmerge(result.mergeID)
        #expect(try await fixture.content([first.id, second.id]) == before)
    }
}
