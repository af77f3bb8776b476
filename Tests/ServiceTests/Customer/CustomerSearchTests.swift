@testable import CustomerService
import Foundation
import GRDB
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI

@Suite("Customer search")
struct CustomerSearchTests {
    func search(_ fixture: TemporaryCustomerStore, _ configure: @Sendable (inout Crm_Customer_V1_SearchCustomersRequest) -> Void) async throws
        -> Crm_Customer_V1_SearchCustomersResponse
    {
        var request = Crm_Customer_V1_SearchCustomersRequest()
        configure(&request)
        let finished = request
        return try await fixture.read { directory, db in try directory.search(finished, db) }
    }

    @Test("by name prefix in either script, document, phone, email, RM and branch")
    func criteria() async throws {
        let fixture = try TemporaryCustomerStore()
        _ = try await fixture.create(Profiles.individual(email: "zs@example.com"))
        _ = try await fixture.create(
            Profiles.individual(
                nameZh: "李四", nameLatin: "Li Si", birthDate: "1985-06-30",
                residentID: Profiles.residentID(birthDate: "1985-06-30", sequence: 5), phone: "13900000000"))
        let ids: (Crm_Customer_V1_SearchCustomersResponse) -> [String] = { $0.customers.map(\.id) }
        #expect(ids(try await search(fixture) { $0.namePrefix = "张" }) == ["C0000000001"])
        #expect(ids(try await search(fixture) { $0.namePrefix = "zhang s" }) == ["C0000000001"])
        #expect(ids(try await search(fixture) { $0.namePrefix = "LI" }) == ["C0000000002"])
        #expect(ids(try await search(fixture) { $0.documentNumber = "11010519491231002x" }) == ["C0000000001"])
        #expect(ids(try await search(fixture) { $0.phone = "139 0000 0000" }) == ["C0000000002"])
        #expect(ids(try await search(fixture) { $0.email = "ZS@example.com" }) == ["C0000000001"])
        #expect(ids(try await search(fixture) { $0.branchID = "BJ-01" }) == ["C0000000001", "C0000000002"])
        #expect(ids(try await search(fixture) { $0.relationshipManagerID = "RM001"; $0.namePrefix = "li" }) == ["C0000000002"])
        #expect(ids(try await search(fixture) { $0.namePrefix = "wang" }).isEmpty)
        let summary = try #require(try await search(fixture) { $0.namePrefix = "li" }.customers.first)
        #expect(summary.displayName == "李四")
        #expect(summary.kind == .individual)
    }

    @Test("keyset pages: every customer once, in id order, stable while customers are added")
    func pagination() async throws {
        let fixture = try TemporaryCustomerStore()
        for index in 0..<120 {
            _ = try await fixture.create(Profiles.individual(nameZh: "客户\(index)", nameLatin: "Customer \(index)", residentID: nil, phone: nil))
        }
        var seen: [String] = []
        var token = ""
        var pages = 0
        repeat {
            let current = token
            let page = try await search(fixture) { $0.branchID = "BJ-01"; $0.pageSize = 50; $0.pageToken = current }
            seen += page.customers.map(\.id)
            token = page.nextPageToken
            pages += 1
            if pages == 1 {
                // A customer added while paging sorts after every existing one and appears on the last page.
                _ = try await fixture.create(Profiles.individual(nameZh: "后来", nameLatin: "Later", residentID: nil, phone: nil))
            }
        } while !token.isEmpty && pages < 10
        #expect(pages == 3)
        #expect(seen.count == 121)
        #expect(seen == seen.sorted())
        #expect(Set(seen).count == 121)
    }

    @Test("fuzzy names: a character missing, extra, wrong or swapped is found in both scripts, ranked by closeness")
    func fuzzy() async throws {
        let fixture = try TemporaryCustomerStore()
        let names = [("张伟明", "Zhang Weiming"), ("张卫明", "Zhang Weimin"), ("欧阳娜娜", "Ouyang Nana"), ("李四", "Li Si")]
        for (index, (zh, latin)) in names.enumerated() {
            _ = try await fixture.create(Profiles.individual(nameZh: zh, nameLatin: latin, residentID: nil, phone: "1390000000\(index)"))
        }
        func found(_ name: String) async throws -> [String] {
            try await search(fixture) { $0.fuzzyName = name }.customers.map { "\($0.id):\($0.matchScore)" }
        }
        // The same name first (100), then the one a character away, which sounds the same (95).
        #expect(try await found("张伟明") == ["C0000000001:100", "C0000000002:95"])
        #expect(try await found("zhang weimign") == ["C0000000001:91", "C0000000002:91"], "two letters swapped; one missing")
        #expect(try await found("zhangweiming") == ["C0000000001:100", "C0000000002:95"], "the pinyin of 张卫明 too")
        #expect(try await found("zhang weming") == ["C0000000001:91", "C0000000002:81"], "a letter missing; two edits")
        #expect(try await found("欧阳娜") == ["C0000000003:75"], "a character missing")
        #expect(try await found("欧阳娜娜娜") == ["C0000000003:80"], "a character extra")
        #expect(try await found("ouyang nana") == ["C0000000003:100"])
        #expect(try await found("wang wu").isEmpty)
        // Two-character names are matched exactly only: one character is half the name.
        #expect(try await found("李四") == ["C0000000004:100"])
        #expect(try await found("李五").isEmpty)
        // Other criteria still apply, and inactive customers are left out unless asked for.
        #expect(try await search(fixture) { $0.fuzzyName = "张伟明"; $0.phone = "13900000001" }.customers.map(\.id) == ["C0000000002"])
        _ = try await fixture.setActive(false, "C0000000002", version: 1, reason: "dormant")
        #expect(try await found("张伟明") == ["C0000000001:100"])
    }

    @Test("the fuzzy index follows renames and erasure")
    func fuzzyIndexMaintained() async throws {
        let fixture = try TemporaryCustomerStore()
        let created = try await fixture.create(Profiles.individual(nameZh: "王小明", nameLatin: "Wang Xiaoming", residentID: nil)).customer
        var renamed = created.profile
        renamed.individual.nameZh = "王晓东"
        renamed.individual.nameLatin = "Wang Xiaodong"
        let updated = try await fixture.update(created.id, version: 1, to: renamed).customer
        #expect(try await search(fixture) { $0.fuzzyName = "王小明" }.customers.isEmpty)
        #expect(try await search(fixture) { $0.fuzzyName = "王晓冬" }.customers.map(\.id) == [created.id])
        try await fixture.erase(created.id, version: updated.version)
        let rows = try await fixture.read { _, db in try Int.fetchOne(db, sql: "SELECT count(*) FROM customer_name_variant") }
        #expect(rows == 0, "an erased person's names leave no trace in the index")
    }

    @Test("inactive customers are found only when asked for")
    func inactive() async throws {
        let fixture = try TemporaryCustomerStore()
        let created = try await fixture.create(Profiles.individual()).customer
        _ = try await fixture.setActive(false, created.id, version: 1, reason: "dormant")
        #expect(try await search(fixture) { $0.namePrefix = "张" }.customers.isEmpty)
        #expect(try await search(fixture) { $0.namePrefix = "张"; $0.includeInactive = true }.customers.count == 1)
    }

    @Test(
        "bad searches are refused naming the field",
        arguments: [
            ("pageSize", { @Sendable (request: inout Crm_Customer_V1_SearchCustomersRequest) in request.namePrefix = "a"; request.pageSize = 201 }),
            ("pageToken", { $0.namePrefix = "a"; $0.pageToken = "not-a-token" }),
            ("namePrefix", { $0.namePrefix = String(repeating: "长", count: 51) }),
            ("namePrefix", { _ in }),
            ("phone", { $0.phone = "12" }),
            ("email", { $0.email = "nobody" }),
            ("valueGrade", { $0.valueGrade = 6 }),
            ("branchId", { $0.branchID = "BJ 01; DROP TABLE customer" }),
            ("fuzzyName", { $0.fuzzyName = "王" }),
            ("fuzzyName", { $0.fuzzyName = "wang"; $0.namePrefix = "wang" }),
            ("pageToken", { $0.fuzzyName = "wang"; $0.pageToken = "djE6MTA" }),
        ] as [(String, @Sendable (inout Crm_Customer_V1_SearchCustomersRequest) -> Void)])
    func badSearches(field: String, configure: @Sendable (inout Crm_Customer_V1_SearchCustomersRequest) -> Void) async throws {
        let fixture = try TemporaryCustomerStore()
        let error = await #expect(throws: RPCError.self) { try await search(fixture, configure) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.fieldViolations.map(\.field).contains(field) == true, "\(error?.fieldViolations ?? [])")
    }
}
