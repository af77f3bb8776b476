@testable import CustomerService
import Foundation
import GRDB
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI

@Suite("Batch duplicate job")
struct DuplicateJobTests {
    /// Runs the job to the end in slices of `slice`, the way crmctl does; returns the totals.
    func runJob(_ fixture: TemporaryCustomerStore, slice: UInt32, minScore: UInt32 = 1) async throws -> (checked: UInt32, new: UInt32, updated: UInt32, slices: Int) {
        var totals: (checked: UInt32, new: UInt32, updated: UInt32, slices: Int) = (0, 0, 0, 0)
        var after = ""
        repeat {
            var request = Crm_Customer_V1_FindDuplicatesRequest()
            request.afterID = after
            request.limit = slice
            request.minScore = minScore
            let finished = request
            let found = try await fixture.read { directory, db in try directory.scanForDuplicates(finished, db) }
            let stored = try await fixture.write { directory, db in try directory.storeDuplicates(found, db) }
            totals = (totals.checked + stored.customersChecked, totals.new + stored.newPairs, totals.updated + stored.updatedPairs, totals.slices + 1)
            after = stored.nextAfterID
        } while !after.isEmpty && totals.slices < 100
        return totals
    }

    func pairs(_ fixture: TemporaryCustomerStore, dismissed: Bool = false, minScore: UInt32 = 0) async throws -> [String] {
        var request = Crm_Customer_V1_ListDuplicatePairsRequest()
        request.dismissed = dismissed
        request.minScore = minScore
        let finished = request
        return try await fixture.read { directory, db in try directory.listDuplicatePairs(finished, db) }.pairs.map {
            "\($0.firstID)-\($0.secondID) \($0.score) \($0.reasons.joined(separator: ","))"
        }
    }

    /// A: the original; B: a similar name, same birth date; C: A's phone, another name; D: unrelated.
    func seeded() async throws -> (TemporaryCustomerStore, [Crm_Customer_V1_Customer]) {
        let fixture = try TemporaryCustomerStore()
        let profiles = [
            Profiles.individual(nameZh: "张伟明", nameLatin: "Zhang Weiming", birthDate: "1980-05-01", residentID: nil, phone: "13800000001"),
            Profiles.individual(nameZh: "张卫明", nameLatin: "Zhang Weimin", birthDate: "1980-05-01", residentID: nil, phone: "13800000002"),
            Profiles.individual(nameZh: "王芳", nameLatin: "Wang Fang", birthDate: "1990-02-02", residentID: nil, phone: "13800000001"),
            Profiles.individual(nameZh: "李四", nameLatin: "Li Si", birthDate: "1970-03-03", residentID: nil, phone: "13800000004"),
        ]
        var customers: [Crm_Customer_V1_Customer] = []
        for profile in profiles { customers.append(try await fixture.create(profile).customer) }
        return (fixture, customers)
    }

    @Test("on create, a similar name with the same birth date is a likely duplicate with its reason")
    func similarNameOnCreate() async throws {
        let fixture = try TemporaryCustomerStore()
        _ = try await fixture.create(Profiles.individual(nameZh: "欧阳娜娜", nameLatin: "", birthDate: "1985-07-07", residentID: nil, phone: nil))
        let created = try await fixture.create(
            Profiles.individual(nameZh: "欧阳纳娜", nameLatin: "", birthDate: "1985-07-07", residentID: nil, phone: nil))
        #expect(created.possibleDuplicates.map(\.customerID) == ["C0000000001"])
        #expect(created.possibleDuplicates.first?.reasons == ["similar name and same birth date"])
        let otherDay = try await fixture.create(
            Profiles.individual(nameZh: "欧阳纳娜", nameLatin: "", birthDate: "1985-07-08", residentID: nil, phone: nil))
        #expect(otherDay.possibleDuplicates.isEmpty, "a similar name alone is not a signal")
    }

    @Test("the job finds every pair once across slices, and a rerun changes nothing")
    func findsPairs() async throws {
        let (fixture, _) = try await seeded()
        let first = try await runJob(fixture, slice: 2)
        #expect(first.checked == 4)
        #expect(first.slices == 3, "2 + 2, then an empty slice ends it")
        #expect(first.new == 2)
        #expect(
            try await pairs(fixture) == [
                "C0000000001-C0000000002 45 similar name and same birth date",
                "C0000000001-C0000000003 60 same phone",
            ])
        let again = try await runJob(fixture, slice: 1_000)
        #expect(again.new == 0 && again.updated == 0)
        // By default a similar name with the same birth date alone (45) is not stored.
        let fresh = try await seeded().0
        #expect(try await runJob(fresh, slice: 1_000, minScore: 0).new == 1)
        #expect(try await pairs(fresh) == ["C0000000001-C0000000003 60 same phone"])
        #expect(try await pairs(fixture, minScore: 50) == ["C0000000001-C0000000003 60 same phone"])
    }

    @Test("a dismissed pair stays dismissed across reruns; a merged pair leaves the list")
    func dismissAndMerge() async throws {
        let (fixture, customers) = try await seeded()
        _ = try await runJob(fixture, slice: 10)
        var dismiss = Crm_Customer_V1_DismissDuplicatePairRequest()
        dismiss.pairID = 1
        dismiss.reason = "twins, checked at the branch"
        let request = dismiss
        let dismissed = try await fixture.write { directory, db in try directory.dismissDuplicatePair(request, caller: .servicing, db) }.pair
        #expect(dismissed.status == .dismissed)
        #expect(dismissed.dismissedReason == "twins, checked at the branch")
        _ = try await runJob(fixture, slice: 10)
        #expect(try await pairs(fixture) == ["C0000000001-C0000000003 60 same phone"])
        #expect(try await pairs(fixture, dismissed: true).count == 1)
        let audited = try await fixture.read { _, db in
            try String.fetchAll(db, sql: "SELECT after FROM audit_log WHERE action = 'dismiss-duplicate' ORDER BY sequence")
        }
        #expect(audited == ["C0000000002", "C0000000001"])

        _ = try await fixture.merge(survivor: customers[0], merged: customers[2])
        #expect(try await pairs(fixture).isEmpty)
    }

    @Test("bad requests are refused naming the field")
    func badRequests() async throws {
        let fixture = try TemporaryCustomerStore()
        var tooMany = Crm_Customer_V1_FindDuplicatesRequest()
        tooMany.limit = 5_001
        tooMany.afterID = "X1"
        let request = tooMany
        let error = await #expect(throws: RPCError.self) { try await fixture.read { directory, db in try directory.scanForDuplicates(request, db) } }
        #expect(Set(error?.fieldViolations.map(\.field) ?? []) == ["limit", "afterId"])
        var dismiss = Crm_Customer_V1_DismissDuplicatePairRequest()
        dismiss.pairID = 99
        dismiss.reason = "x"
        let missing = dismiss
        let notFound = await #expect(throws: RPCError.self) {
            try await fixture.write { directory, db in try directory.dismissDuplicatePair(missing, caller: .servicing, db) }
        }
        #expect(notFound?.code == .notFound)
    }
}
