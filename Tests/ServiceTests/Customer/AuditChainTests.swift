@testable import CustomerService
import Foundation
import GRDB
import ServiceRuntime
import Testing
import WireProtocol

/// The audit log is append-only and hash-chained: whoever edits the file behind the service's back
/// (dropping the triggers first) is caught at the first row they touched.
@Suite("Audit chain")
struct AuditChainTests {
    /// Three customers, each created and updated: 6 audit rows.
    func populated() async throws -> TemporaryCustomerStore {
        let fixture = try TemporaryCustomerStore()
        for index in 1...3 {
            let created = try await fixture.create(
                Profiles.individual(nameZh: "客户\(index)", birthDate: "1980-01-0\(index)",
                                    residentID: Profiles.residentID(birthDate: "1980-01-0\(index)", sequence: index), phone: nil)
            ).customer
            let renamed = Profiles.individual(
                nameZh: "新客户\(index)", birthDate: "1980-01-0\(index)",
                residentID: Profiles.residentID(birthDate: "1980-01-0\(index)", sequence: index), phone: nil)
            _ = try await fixture.update(created.id, version: 1, to: renamed)
        }
        return fixture
    }

    func verify(_ fixture: TemporaryCustomerStore) async throws -> Crm_Customer_V1_VerifyAuditResponse {
        try await fixture.read { directory, db in try directory.verifyAudit(db) }
    }

    /// Tampers as an attacker with the file would: without the service's append-only triggers.
    func tamper(_ fixture: TemporaryCustomerStore, _ sql: String) async throws {
        try await fixture.store.pool.writeWithoutTransaction { db in
            try db.execute(sql: "DROP TRIGGER audit_log_append_only_update; DROP TRIGGER audit_log_append_only_delete")
            try db.execute(sql: sql)
        }
    }

    @Test("an untouched log verifies")
    func intact() async throws {
        let result = try await verify(try await populated())
        #expect(result.intact)
        #expect(result.rowsChecked == 6)
        #expect(result.firstBrokenSequence == 0)
    }

    @Test("the service's own connection cannot change or delete audit rows")
    func appendOnly() async throws {
        let fixture = try await populated()
        await #expect(throws: DatabaseError.self) {
            try await fixture.store.pool.write { db in try db.execute(sql: "UPDATE audit_log SET after = 'x' WHERE sequence = 2") }
        }
        await #expect(throws: DatabaseError.self) {
            try await fixture.store.pool.write { db in try db.execute(sql: "DELETE FROM audit_log WHERE sequence = 2") }
        }
    }

    @Test("a modified value is found at its row")
    func modifiedValue() async throws {
        let fixture = try await populated()
        try await tamper(fixture, "UPDATE audit_log SET after = '张三' WHERE sequence = 4")
        let result = try await verify(fixture)
        #expect(!result.intact)
        #expect(result.firstBrokenSequence == 4)
        #expect(result.problem.contains("changed"))
    }

    @Test("a modified caller, with the value digests left alone, is found at its row")
    func modifiedCaller() async throws {
        let fixture = try await populated()
        try await tamper(fixture, "UPDATE audit_log SET end_user = 'someone-else' WHERE sequence = 3")
        let result = try await verify(fixture)
        #expect(result.firstBrokenSequence == 3)
        #expect(result.problem.contains("does not match its hash"))
    }

    @Test("a deleted row is found at the row after it")
    func deletedRow() async throws {
        let fixture = try await populated()
        try await tamper(fixture, "DELETE FROM audit_log WHERE sequence = 2")
        let result = try await verify(fixture)
        #expect(result.firstBrokenSequence == 3)
        #expect(result.problem.contains("does not link"))
        #expect(result.rowsChecked == 1)
    }

    @Test("reordered rows are found at the first moved row")
    func reorderedRows() async throws {
        let fixture = try await populated()
        try await tamper(
            fixture,
            """
            UPDATE audit_log SET sequence = -1 WHERE sequence = 2;
            UPDATE audit_log SET sequence = 2 WHERE sequence = 5;
            UPDATE audit_log SET sequence = 5 WHERE sequence = -1;
            """)
        let result = try await verify(fixture)
        #expect(result.firstBrokenSequence == 2)
        #expect(!result.intact)
    }

    @Test("rows cut off the end are found through the head")
    func truncatedEnd() async throws {
        let fixture = try await populated()
        try await tamper(fixture, "DELETE FROM audit_log WHERE sequence >= 5")
        let result = try await verify(fixture)
        #expect(!result.intact)
        #expect(result.firstBrokenSequence == 5)
        #expect(result.problem.contains("head records 6"))
    }

    @Test("ListAudit: only roles that see personal data, oldest first, in pages, and the reading is audited")
    func listAudit() async throws {
        let fixture = try await populated()
        var request = Crm_Customer_V1_ListAuditRequest()
        request.customerID = "C0000000002"
        request.pageSize = 1
        let first = request
        let denied = await #expect(throws: RPCError.self) {
            try await fixture.write { directory, db in try directory.listAudit(first, caller: .marketing, db) }
        }
        #expect(denied?.code == .permissionDenied)
        let page1 = try await fixture.write { directory, db in try directory.listAudit(first, caller: .kyc, db) }
        #expect(page1.entries.map(\.action) == ["create"])
        #expect(!page1.nextPageToken.isEmpty)
        request.pageToken = page1.nextPageToken
        let second = request
        let page2 = try await fixture.write { directory, db in try directory.listAudit(second, caller: .kyc, db) }
        #expect(page2.entries.map(\.field) == ["individual.nameZh"])
        #expect(page2.entries.first?.before == "客户2")
        let readings = try await fixture.read { _, db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_log WHERE action = 'read-audit'")
        }
        #expect(readings == 2)
        #expect(try await verify(fixture).intact)
    }
}
