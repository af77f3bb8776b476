@testable import CustomerService
import Foundation
import GRDB
import ServiceRuntime
import SwiftProtobuf
import Testing
import WireProtocol
internal import CRMAPI

@Suite("Merge and unmerge")
struct MergeTests {
    /// Two records of one person: one from a branch (resident id, phone), one from online banking
    /// (passport, email, a phone of its own marked primary).
    func twoRecords(_ fixture: TemporaryCustomerStore) async throws -> (Crm_Customer_V1_Customer, Crm_Customer_V1_Customer) {
        let branch = try await fixture.create(Profiles.individual()).customer
        var online = Profiles.individual(residentID: nil, phone: "13900000001", email: "zhang.san@example.com")
        var passport = Crm_Customer_V1_IdentityDocument()
        passport.type = .passport
        passport.number = "E12345678"
        online.documents = [passport]
        let second = try await fixture.create(online).customer
        return (branch, second)
    }

    @Test("merge moves documents and contacts to the survivor and marks the other MERGED")
    func merge() async throws {
        let fixture = try TemporaryCustomerStore()
        let (survivor, merged) = try await twoRecords(fixture)
        let result = try await fixture.merge(survivor: survivor, merged: merged)
        #expect(result.mergeID == 1)
        let after = result.survivor
        #expect(after.version == survivor.version + 1)
        #expect(after.profile.documents.map(\.number) == [Profiles.standardResidentID, "E12345678"])
        #expect(after.profile.contacts.map(\.value) == ["+8613812345678", "+8613900000001", "zhang.san@example.com"])
        #expect(after.profile.contacts.map(\.primary) == [true, false, false], "one primary phone only")

        let gone = try await fixture.get(merged.id)
        #expect(gone.status == .merged)
        #expect(gone.mergedInto == survivor.id)
        #expect(gone.profile.documents.isEmpty)
        #expect(gone.version == merged.version + 1)

        // The passport now belongs to the survivor: a third record with it is refused, naming the survivor.
        var third = Profiles.individual(nameZh: "张叁", residentID: nil, phone: nil)
        third.documents = [after.profile.documents[1]]
        let error = await #expect(throws: RPCError.self) { try await fixture.create(third) }
        #expect(error?.details["existing_customer_id"] == survivor.id)
        #expect(try await fixture.read { directory, db in
            var search = Crm_Customer_V1_SearchCustomersRequest()
            search.namePrefix = "张"
            return try directory.search(search, db)
        }.customers.map(\.id) == [survivor.id])
    }

    /// The customer as it reads apart from its version and update time.
    func content(_ customer: Crm_Customer_V1_Customer) -> Crm_Customer_V1_Customer {
        var customer = customer
        (customer.version, customer.updatedAt.milliseconds) = (0, 0)
        return customer
    }

    @Test("merge then unmerge restores the full dump of both customers byte for byte but for new versions; the audit chain stays intact")
    func unmergeRestoresExactly() async throws {
        let fixture = try TemporaryCustomerStore()
        let (survivor, merged) = try await twoRecords(fixture)
        let before = try await fixture.content([survivor.id, merged.id])
        let result = try await fixture.merge(survivor: survivor, merged: merged)
        #expect(try await fixture.content([survivor.id, merged.id]) != before)

        let restored = try await fixture.unmerge(result.mergeID)
        #expect(try await fixture.content([survivor.id, merged.id]) == before)
        #expect(content(restored.survivor) == content(survivor))
        #expect(content(restored.restored) == content(merged))
        #expect(restored.survivor.version == result.survivor.version + 1, "a new version above the merged one")
        #expect(restored.restored.version == merged.version + 2)
        let audit = try await fixture.read { directory, db in try directory.verifyAudit(db) }
        #expect(audit.intact)
        let actions = try await fixture.read { _, db in
            try String.fetchAll(db, sql: "SELECT DISTINCT action FROM audit_log ORDER BY sequence")
        }
        #expect(actions == ["create", "merge", "unmerge"])

        let again = await #expect(throws: RPCError.self) { try await fixture.unmerge(result.mergeID) }
        #expect(again?.reason == "ALREADY_UNMERGED")
    }

    @Test("a phone both records had is kept once on the survivor; unmerge still restores both exactly")
    func sharedContactKeptOnce() async throws {
        let fixture = try TemporaryCustomerStore()
        let survivor = try await fixture.create(Profiles.individual(email: "zs@example.com")).customer
        let merged = try await fixture.create(Profiles.individual(residentID: nil, phone: "13812345678", email: "other@example.com")).customer
        let before = try await fixture.content([survivor.id, merged.id])
        let result = try await fixture.merge(survivor: survivor, merged: merged)
        #expect(result.survivor.profile.contacts.map(\.value) == ["+8613812345678", "zs@example.com", "other@example.com"])
        #expect(result.survivor.profile.contacts.filter(\.primary).count == 1)
        _ = try await fixture.unmerge(result.mergeID)
        #expect(try await fixture.content([survivor.id, merged.id]) == before)
    }

    @Test("after an unmerge, an update naming a version read while merged is ABORTED, and every event's version is above the last")
    func unmergeVersionsGoForward() async throws {
        let fixture = try TemporaryCustomerStore()
        let (survivor, merged) = try await twoRecords(fixture)
        let result = try await fixture.merge(survivor: survivor, merged: merged)
        let restored = try await fixture.unmerge(result.mergeID)
        var profile = restored.survivor.profile
        profile.individual.occupation = "teacher"
        let stale = await #expect(throws: RPCError.self) { try await fixture.update(survivor.id, version: result.survivor.version, to: profile) }
        #expect(stale?.code == .aborted)
        _ = try await fixture.update(survivor.id, version: restored.survivor.version, to: profile)
        _ = try await fixture.upsert([Holdings.make("6222000000000001", customer: survivor.id, balanceYuan: 1_000, contributionYuan: 1)])

        let versions = try await fixture.read { _, db in
            try Row.fetchAll(db, sql: "SELECT entity_key, payload FROM change_log ORDER BY sequence").map {
                (id: $0["entity_key"] as String, version: try Crm_Customer_V1_CustomerChanged(serializedBytes: $0["payload"] as Data).version)
            }
        }
        for id in [survivor.id, merged.id] {
            let mine = versions.filter { $0.id == id }.map(\.version)
            #expect(mine.count >= 3)
            #expect(zip(mine, mine.dropFirst()).allSatisfy { $0 < $1 }, "\(id): \(mine)")
        }
        #expect(versions.filter { $0.id == survivor.id }.map(\.version) == [1, 2, 3, 4, 5])
    }

    @Test("after a restore from backup, versions and event versions go on above every version given before the restore")
    func restoreKeepsVersionsGoingForward() async throws {
        let original = try TemporaryCustomerStore()
        let created = try await original.create(Profiles.individual()).customer
        let backup = original.folder.appendingPathComponent("backup.sqlite").path
        _ = try DatabaseMaintenance.backup(database: original.store.configuration.path, to: backup)
        var profile = created.profile
        profile.individual.occupation = "teacher"
        let lost = try await original.update(created.id, version: 1, to: profile).customer
        #expect(lost.version == 2, "a version callers and consumers saw, which the backup never held")

        let restored = try TemporaryCustomerStore(restoredFrom: backup)
        let current = try await restored.get(created.id)
        #expect(current.version > lost.version)
        #expect(content(current) == content(created), "the content is the backup's")
        let stale = await #expect(throws: RPCError.self) { try await restored.update(created.id, version: lost.version, to: profile) }
        #expect(stale?.code == .aborted)
        let updated = try await restored.update(created.id, version: current.version, to: profile).customer
        #expect(updated.version == current.version + 1)
        let versions = try await feedVersions(restored.store, as: Crm_Customer_V1_CustomerChanged.self) { $0.version }
        #expect(versions[created.id] == [1, updated.version], "the restored log, then the new change")
    }

    @Test("unmerge is refused once either customer changed after the merge")
    func changedSinceMerge() async throws {
        let fixture = try TemporaryCustomerStore()
        let (survivor, merged) = try await twoRecords(fixture)
        let result = try await fixture.merge(survivor: survivor, merged: merged)
        var profile = result.survivor.profile
        profile.individual.occupation = "teacher"
        _ = try await fixture.update(survivor.id, version: result.survivor.version, to: profile)
        let error = await #expect(throws: RPCError.self) { try await fixture.unmerge(result.mergeID) }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.reason == "CHANGED_SINCE_MERGE")
        #expect(try await fixture.get(merged.id).status == .merged)
    }

    @Test("merge is refused for stale versions, the same customer twice, mixed kinds and merged customers")
    func refusals() async throws {
        let fixture = try TemporaryCustomerStore()
        let (survivor, merged) = try await twoRecords(fixture)
        var stale = merged
        stale.version = 7
        #expect(await #expect(throws: RPCError.self) { try await fixture.merge(survivor: survivor, merged: stale) }?.code == .aborted)
        #expect(await #expect(throws: RPCError.self) { try await fixture.merge(survivor: survivor, merged: survivor) }?.code == .invalidArgument)
        var company = Crm_Customer_V1_CustomerProfile()
        company.kind = .corporate
        company.corporate.legalName = "Zhang San Trading Co."
        let corporate = try await fixture.create(company).customer
        #expect(await #expect(throws: RPCError.self) { try await fixture.merge(survivor: survivor, merged: corporate) }?.reason == "KIND_MISMATCH")

        let result = try await fixture.merge(survivor: survivor, merged: merged)
        let mergedNow = try await fixture.get(merged.id)
        let twice = await #expect(throws: RPCError.self) { try await fixture.merge(survivor: result.survivor, merged: mergedNow) }
        #expect(twice?.reason == "CUSTOMER_MERGED")
        let noUpdate = await #expect(throws: RPCError.self) {
            try await fixture.update(merged.id, version: mergedNow.version, to: Profiles.individual(residentID: nil))
        }
        #expect(noUpdate?.reason == "CUSTOMER_MERGED")
    }

    @Test("every table holding per-customer rows is in the merge image")
    func imageCoversSchema() async throws {
        let fixture = try TemporaryCustomerStore()
        let tables = try await fixture.read { _, db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'").filter { name in
                try db.columns(in: name).contains { $0.name == "customer_key" }
            }
        }
        // The audit log and the erasure requests record what happened, not customer data: they are
        // never moved or restored, and neither are import sources (which record created which
        // customer). The name variants are an index derived from the customer row. Case and
        // opportunity summaries belong to ServiceDesk and Marketing, which re-key on a merge and say
        // so on their feeds. The daily value highs are what the record held, and stay its own.
        let notInImage: Set = [
            "audit_log", "erasure_request", "import_source", "customer_name_variant", "case_summary", "opportunity_summary", "customer_value_high",
        ]
        #expect(Set(tables).subtracting(notInImage) == Set(CustomerImage.childTables.map(\.name)))
    }
}
