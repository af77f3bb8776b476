@testable import CustomerService
import Foundation
import GRDB
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI

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
        try await fixture.verifyAudit()
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
        let denied = await #expect(throws: RPCError.self) { try await fixture.listAudit(first, caller: .marketing) }
        #expect(denied?.code == .permissionDenied)
        let page1 = try await fixture.listAudit(first, caller: .kyc)
        #expect(page1.entries.map(\.action) == ["create"])
        #expect(!page1.nextPageToken.isEmpty)
        request.pageToken = page1.nextPageToken
        let second = request
        let page2 = try await fixture.listAudit(second, caller: .kyc)
        #expect(page2.entries.map(\.field) == ["individual.nameZh"])
        #expect(page2.entries.first?.before == "客户2")
        #expect(try await fixture.accessRows() == ["kyc-portal read-audit 2", "kyc-portal read-audit 2"])
        var missing = Crm_Customer_V1_ListAuditRequest()
        missing.customerID = "C0000000009"
        let unknown = missing
        let notFound = await #expect(throws: RPCError.self) { try await fixture.listAudit(unknown, caller: .kyc) }
        #expect(notFound?.code == .notFound)
        // The row is written while the read runs, so an attempt is recorded too: that someone is
        // not a customer is itself confidential.
        #expect(try await fixture.accessRows() == ["kyc-portal read-audit 2", "kyc-portal read-audit 2", "kyc-portal read-audit 9"])
        #expect(try await verify(fixture).intact)
    }

    @Test("ListAudit with access: who was shown the customer unmasked, and who read its trail, in pages")
    func listAccess() async throws {
        let fixture = try await populated()
        _ = try await fixture.get("C0000000002", caller: .servicing)
        _ = try await fixture.get("C0000000002", caller: .marketing)
        _ = try await fixture.view("C0000000002", caller: .kyc)
        _ = try await fixture.get("C0000000003", caller: .kyc)
        var request = Crm_Customer_V1_ListAuditRequest()
        request.customerID = "C0000000002"
        request.access = true
        request.pageSize = 2
        let first = request
        let page1 = try await fixture.listAudit(first, caller: .kyc)
        #expect(page1.entries.map { "\($0.callerSystem) \($0.action) \($0.customerID)" } == [
            "branch-teller read C0000000002", "kyc-portal read C0000000002",
        ])
        #expect(page1.entries.map(\.endUser) == ["u1001", "k3003"])
        request.pageToken = page1.nextPageToken
        let second = request
        let page2 = try await fixture.listAudit(second, caller: .kyc)
        // The reading is recorded before the access log is read: each page's own reading is in it.
        #expect(page2.entries.map(\.action) == ["read-audit", "read-audit"])
        #expect(page2.nextPageToken.isEmpty)
        let verified = try await verify(fixture)
        #expect(verified.intact)
        #expect(verified.rowsChecked == 6, "the change log holds no reads")
        #expect(verified.accessRowsChecked == 5)
    }

    @Test("a tampered access log is found at its row and named")
    func tamperedAccessLog() async throws {
        let fixture = try await populated()
        for id in ["C0000000001", "C0000000002", "C0000000003"] { _ = try await fixture.get(id, caller: .kyc) }
        try await fixture.accessLog.store.pool.writeWithoutTransaction { db in
            try db.execute(sql: "DROP TRIGGER access_log_append_only_update; UPDATE access_log SET end_user = 'nobody' WHERE sequence = 2")
        }
        let result = try await verify(fixture)
        #expect(!result.intact)
        #expect(result.brokenLog == "access")
        #expect(result.firstBrokenSequence == 2)
        #expect(result.problem.contains("does not match its hash"))
        #expect(result.rowsChecked == 6, "the change log was checked whole first")
    }

    @Test("200 unmasked reads at once: one access row each with its own caller, rows that waited together written together, one intact chain")
    func concurrentReadsShareWrites() async throws {
        let fixture = try await populated()
        // Counts the writes of the chain's head on the access log's writer connection (temporary
        // triggers belong to the connection that made them).
        try await fixture.accessLog.store.pool.writeWithoutTransaction { db in
            try db.execute(
                sql: """
                    CREATE TEMP TABLE head_writes (n INTEGER NOT NULL); INSERT INTO head_writes VALUES (0);
                    CREATE TEMP TRIGGER head_inserted AFTER INSERT ON access_head BEGIN UPDATE head_writes SET n = n + 1; END;
                    CREATE TEMP TRIGGER head_updated AFTER UPDATE ON access_head BEGIN UPDATE head_writes SET n = n + 1; END;
                    """)
        }
        let callers = (0..<200).map { Caller(system: "teller-\($0 % 7)", endUser: "u\($0)", role: "servicing", requestID: "request-\($0)") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, caller) in callers.enumerated() {
                group.addTask { _ = try await fixture.get("C000000000\(index % 3 + 1)", caller: caller) }
            }
            try await group.waitForAll()
        }
        let (rows, headWrites) = try fixture.accessLog.store.pool.writeWithoutTransaction { db in
            (try Row.fetchAll(db, sql: "SELECT caller_system, end_user, request_id, customer_key FROM access_log ORDER BY sequence"),
             try Int.fetchOne(db, sql: "SELECT n FROM head_writes") ?? 0)
        }
        #expect(rows.count == 200)
        let seen = Set(rows.map { "\($0["caller_system"] as String) \($0["end_user"] as String) \($0["request_id"] as String) \($0["customer_key"] as Int64)" })
        let expected = Set(callers.enumerated().map { "\($1.system) \($1.endUser) \($1.requestID) \($0 % 3 + 1)" })
        #expect(seen == expected)
        #expect(headWrites >= 1)
        #expect(headWrites < 200, "reads whose rows waited for the writer together share one write")
        let verified = try await verify(fixture)
        #expect(verified.intact)
        #expect(verified.accessRowsChecked == 200)
    }

    @Test("an unmasked read whose access row cannot be written fails, and shows nothing; a masked read goes on")
    func unrecordableRead() async throws {
        let fixture = try await populated()
        try await fixture.accessLog.store.pool.writeWithoutTransaction { db in try db.execute(sql: "DROP TABLE access_log") }
        await #expect(throws: DatabaseError.self) { try await fixture.get("C0000000001", caller: .servicing) }
        await #expect(throws: DatabaseError.self) { try await fixture.view("C0000000001", caller: .kyc) }
        #expect(try await fixture.get("C0000000001", caller: .marketing).masked)
    }

    @Test("the access log's file sits beside the customer database")
    func accessLogPath() {
        #expect(AccessLog.defaultPath(besides: "/var/lib/crm/customer.sqlite") == "/var/lib/crm/customer-access.sqlite")
        #expect(AccessLog.defaultPath(besides: "var/data/customer.db") == "var/data/customer-access.db")
        #expect(AccessLog.defaultPath(besides: "/data/customers") == "/data/customers-access")
    }
}
