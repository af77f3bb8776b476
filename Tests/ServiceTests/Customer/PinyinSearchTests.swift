@testable import CustomerService
import Foundation
import GRDB
import Testing
import WireProtocol
internal import CRMAPI

@Suite("Pinyin and ranked name search")
struct PinyinSearchTests {
    func search(_ fixture: TemporaryCustomerStore, _ configure: @Sendable (inout Crm_Customer_V1_SearchCustomersRequest) -> Void) async throws
        -> [String]
    {
        var request = Crm_Customer_V1_SearchCustomersRequest()
        configure(&request)
        let finished = request
        let response = try await fixture.read { directory, db in try directory.search(finished, db) }
        return response.customers.map { $0.matchScore == 0 ? $0.displayName : "\($0.displayName):\($0.matchScore)" }
    }

    func expect(
        _ fixture: TemporaryCustomerStore, _ configure: @Sendable (inout Crm_Customer_V1_SearchCustomersRequest) -> Void, _ expected: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let found = try await search(fixture, configure)
        #expect(found == expected, sourceLocation: sourceLocation)
    }

    /// Customers known by their Chinese name only, the way many branch records are.
    func store(_ names: [String]) async throws -> TemporaryCustomerStore {
        let fixture = try TemporaryCustomerStore()
        for (index, name) in names.enumerated() {
            _ = try await fixture.create(Profiles.individual(nameZh: name, nameLatin: "", residentID: nil, phone: "1390000\(String(1000 + index))"))
        }
        return fixture
    }

    @Test(
        "ICU's transform for names reads surnames with their surname reading",
        arguments: [
            ("张三", "zhangsan", "zs"), ("欧阳修", "ouyangxiu", "oyx"), ("单雄信", "shanxiongxin", "sxx"), ("曾国藩", "zengguofan", "zgf"),
            ("解缙", "xiejin", "xj"), ("仇英", "qiuying", "qy"), ("区志明", "ouzhiming", "ozm"), ("尉迟恭", "yuchigong", "ycg"),
            ("阿依古丽·买买提", "ayigulimaimaiti", "ayglmmt"), ("Zhang San", "", ""), ("", "", ""),
        ])
    func readings(name: String, full: String, initials: String) {
        let pinyin = Pinyin(of: name)
        #expect([pinyin.full, pinyin.initials] == [full, initials])
    }

    @Test("a Chinese name is found by its pinyin, with or without spaces and case, by its initials and by a pinyin prefix")
    func prefixes() async throws {
        let fixture = try await store(["张三", "欧阳修", "李四", "单田芳"])
        for typed in ["zhangsan", "zhang san", "Zhang San", "zs", "zhang", "ZHANG S"] {
            try await expect(fixture, { $0.namePrefix = typed }, ["张三"])
        }
        for typed in ["ouyang", "ouyangxiu", "oyx", "欧阳"] {
            try await expect(fixture, { $0.namePrefix = typed }, ["欧阳修"])
        }
        // 单 as a surname reads shan, not dan.
        try await expect(fixture, { $0.namePrefix = "shantianfang" }, ["单田芳"])
        #expect(try await search(fixture) { $0.namePrefix = "dantianfang" }.isEmpty)
    }

    @Test("search by name ranks exact > same sound > initials > prefix > fuzzy")
    func ranked() async throws {
        let fixture = try await store(["张三", "张珊", "张三丰", "赵森", "张伞", "章三", "张山", "李四"])
        // 张三, 张伞 and 章三 all read zhang san; 张三丰 starts with it; 张山 and 张珊 (zhang shan) are
        // a letter away. Equal scores come in id order.
        try await expect(fixture, { $0.name = "zhangsan" }, ["张三:95", "张伞:95", "章三:95", "张三丰:80", "张珊:55", "张山:55"])
        try await expect(fixture, { $0.name = "Zhang San" }, ["张三:95", "张伞:95", "章三:95", "张三丰:80", "张珊:55", "张山:55"])
        try await expect(fixture, { $0.name = "张三" }, ["张三:100", "张伞:95", "章三:95", "张三丰:80", "张珊:55", "张山:55"])
        try await expect(fixture, { $0.name = "zs" }, ["张三:90", "张珊:90", "赵森:90", "张伞:90", "章三:90", "张山:90", "张三丰:80"])
        #expect(try await search(fixture) { $0.name = "zhang" }.prefix(1) == ["张三:80"])
        #expect(try await search(fixture) { $0.name = "zhang"; $0.pageSize = 3 }.count == 3)
        #expect(try await search(fixture) { $0.name = "wangwu" }.isEmpty)
    }

    @Test("one character wrong in a two-character name: the same sound scores highest, then a similar one")
    func twoCharacterNames() async throws {
        let fixture = try await store(["张三", "张珊", "李雷", "李四"])
        try await expect(fixture, { $0.fuzzyName = "张山" }, ["张珊:95", "张三:79"])
        try await expect(fixture, { $0.fuzzyName = "李蕾" }, ["李雷:95"])
        try await expect(fixture, { $0.fuzzyName = "zhangshan" }, ["张珊:95", "张三:79"])
        // A different sound is not a typing mistake: 李五 (li wu) is not 李四 (li si).
        #expect(try await search(fixture) { $0.fuzzyName = "李五" }.isEmpty)
    }

    @Test("pinyin follows renames, unmerge and erasure, and a company's Chinese legal name has one")
    func maintained() async throws {
        let fixture = try await store(["王小明"])
        let created = try await fixture.get("C0000000001")
        var renamed = created.profile
        renamed.individual.nameZh = "曾晓东"
        let updated = try await fixture.update(created.id, version: created.version, to: renamed).customer
        #expect(try await search(fixture) { $0.namePrefix = "wangxiaoming" }.isEmpty)
        try await expect(fixture, { $0.namePrefix = "zengxiao" }, ["曾晓东"])
        try await expect(fixture, { $0.fuzzyName = "zengxiaodogn" }, ["曾晓东:81"])

        // A merge and its unmerge leave both findable by their pinyin again.
        let twin = try await fixture.create(Profiles.individual(nameZh: "曾晓冬", nameLatin: "", residentID: nil, phone: nil)).customer
        let merge = try await fixture.merge(survivor: updated, merged: twin)
        try await expect(fixture, { $0.namePrefix = "zengxiaod" }, ["曾晓东"])
        _ = try await fixture.unmerge(merge.mergeID)
        try await expect(fixture, { $0.namePrefix = "zengxiaod" }, ["曾晓东", "曾晓冬"])
        let current = try await fixture.get(created.id)

        var company = Crm_Customer_V1_CustomerProfile()
        company.kind = .corporate
        company.corporate.legalName = "招商局集团有限公司"
        company.corporate.registrationNumber = "91110000100005220B"
        company.relationshipManagerID = "RM001"
        company.branchID = "BJ-01"
        _ = try await fixture.create(company)
        try await expect(fixture, { $0.name = "zsjjt" }, ["招商局集团有限公司:80"])

        try await fixture.erase(created.id, version: current.version)
        let left = try await fixture.read { _, db in
            try String.fetchAll(db, sql: "SELECT name_pinyin_key || '/' || name_initials_key FROM customer WHERE key = 1")
        }
        #expect(left == ["/"], "an erased person's pinyin is gone with the name")
    }

    @Test("a database from before pinyin gets the pinyin of every Chinese name when it migrates")
    func migration() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pinyin-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let queue = try DatabaseQueue(path: path)
        try CustomerSchema.migrator.migrate(queue, upTo: "customer-14-published-versions")
        try queue.write { db in
            for (kind, nameZh, legalName) in [(1, "欧阳娜娜", ""), (2, "", "曾氏贸易有限公司"), (1, "", "")] {
                try db.execute(
                    sql: """
                        INSERT INTO customer (kind, status, version, display_name, name_zh_key, name_latin_key, name_zh, name_latin, gender,
                            birth_date, nationality, occupation, income_band, legal_name, registration_number, industry, company_size,
                            legal_representative, preferred_channel, relationship_manager_id, branch_id, lifecycle_stage, created_at_ms, updated_at_ms)
                        VALUES (?, 1, 1, ?, ?, 'ana', ?, 'Ana', 0, '', '', '', 0, ?, '', '', 0, '', 0, 'RM001', 'BJ-01', 1, 0, 0)
                        """, arguments: [kind, nameZh + legalName, nameZh, nameZh, legalName])
            }
        }
        try CustomerSchema.migrator.migrate(queue)
        let keys = try queue.read { db in
            try String.fetchAll(db, sql: "SELECT name_pinyin_key || '/' || name_initials_key FROM customer ORDER BY key")
        }
        #expect(keys == ["ouyangnana/oynn", "zengshimaoyiyouxiangongsi/zsmyyxgs", "/"])
        var request = Crm_Customer_V1_SearchCustomersRequest()
        request.fuzzyName = "ouyangnan"
        let query = try CustomerSearch.query(from: request)
        let found = try queue.read { db in try CustomerSearch.run(query, db) }
        #expect(found.customers.map(\.displayName) == ["欧阳娜娜"], "the pinyin is in the fuzzy index too")
    }
}
