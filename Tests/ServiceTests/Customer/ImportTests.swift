@testable import CustomerService
import Foundation
import GRDB
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI

@Suite("Bulk import")
struct ImportTests {
    func row(_ line: UInt64, _ sourceID: String, _ profile: Crm_Customer_V1_CustomerProfile) -> Crm_Customer_V1_ImportRow {
        var row = Crm_Customer_V1_ImportRow()
        row.line = line
        row.sourceID = sourceID
        row.profile = profile
        return row
    }

    func importRows(
        _ fixture: TemporaryCustomerStore, _ rows: [Crm_Customer_V1_ImportRow], rejectFromScore: UInt32 = 0
    ) async throws -> Crm_Customer_V1_ImportCustomersResponse {
        var request = Crm_Customer_V1_ImportCustomersRequest()
        request.sourceSystem = "legacy-cards"
        request.rows = rows
        request.rejectDuplicatesFromScore = rejectFromScore
        let finished = request
        return try await fixture.write { directory, db in try directory.importCustomers(finished, caller: .servicing, db) }
    }

    var rows: [Crm_Customer_V1_ImportRow] {
        var wrongCheckDigit = Profiles.individual(nameZh: "赵六", nameLatin: "Zhao Liu", residentID: nil, phone: nil)
        wrongCheckDigit.documents = [Profiles.individual(residentID: "110105194912310021").documents[0]]
        return [
            row(2, "A-1", Profiles.individual(nameZh: "王芳", nameLatin: "Wang Fang", birthDate: "1980-01-02",
                residentID: Profiles.residentID(birthDate: "1980-01-02", sequence: 1), phone: "13800000001")),
            row(3, "A-2", wrongCheckDigit),
            // The same document as row 2: refused by the rule that keeps documents unique.
            row(4, "A-3", Profiles.individual(nameZh: "王芳芳", nameLatin: "", birthDate: "1980-01-02",
                residentID: Profiles.residentID(birthDate: "1980-01-02", sequence: 1), phone: nil)),
            // Another record of row 2's person, without the document: a likely duplicate.
            row(5, "A-4", Profiles.individual(nameZh: "王芳", nameLatin: "", birthDate: "1980-01-02", residentID: nil, phone: "13800000001")),
        ]
    }

    @Test("each row validated and checked on its own; rejected rows say why; importing again changes nothing")
    func importAndReimport() async throws {
        let fixture = try TemporaryCustomerStore()
        let first = try await importRows(fixture, rows)
        #expect((first.created, first.unchanged, first.rejected) == (2, 0, 2))
        #expect(first.results.map(\.outcome) == [.created, .rejected, .rejected, .created])
        #expect(first.results[1].reason == "INVALID_FIELD")
        #expect(first.results[1].problems.first?.hasPrefix("profile.documents[0].number:") == true, "\(first.results[1].problems)")
        #expect(first.results[2].reason == "DUPLICATE_DOCUMENT")
        #expect(first.results[3].possibleDuplicates.map(\.customerID) == ["C0000000001"])
        #expect(first.results.map(\.line) == [2, 3, 4, 5])

        let before = try await fixture.dump(["C0000000001", "C0000000002"])
        let audit = try await fixture.read { _, db in try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_log") }
        let again = try await importRows(fixture, rows)
        #expect((again.created, again.unchanged, again.rejected) == (0, 2, 2))
        #expect(again.results[0].customerID == "C0000000001")
        #expect(try await fixture.dump(["C0000000001", "C0000000002"]) == before)
        #expect(try await fixture.read { _, db in try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_log") } == audit)
        #expect(try await fixture.read { _, db in try Int.fetchOne(db, sql: "SELECT count(*) FROM customer") } == 2)

        // A row whose content changed since it was imported is not applied silently.
        var changed = rows[0]
        changed.profile.individual.occupation = "teacher"
        let edited = try await importRows(fixture, [changed])
        #expect(edited.results.first?.reason == "SOURCE_CHANGED")
        #expect(edited.results.first?.customerID == "C0000000001")
    }

    @Test("likely duplicates can reject a row instead, leaving nothing behind; the import is audited with its source")
    func rejectLikelyDuplicates() async throws {
        let fixture = try TemporaryCustomerStore()
        let result = try await importRows(fixture, [rows[0], rows[3]], rejectFromScore: 60)
        #expect(result.results.map(\.outcome) == [.created, .rejected])
        #expect(result.results[1].reason == "LIKELY_DUPLICATE")
        #expect(result.results[1].problems.first?.contains("C0000000001") == true)
        #expect(try await fixture.read { _, db in try Int.fetchOne(db, sql: "SELECT count(*) FROM customer") } == 1)
        #expect(try await fixture.read { _, db in try Int.fetchOne(db, sql: "SELECT count(*) FROM import_source") } == 1)
        let source = try await fixture.read { _, db in try String.fetchOne(db, sql: "SELECT after FROM audit_log WHERE action = 'import'") }
        #expect(source == "legacy-cards/A-1")
    }

    @Test("a bad batch (its source system, size or duplicate score) is refused as a whole, naming the field")
    func badBatch() async throws {
        let fixture = try TemporaryCustomerStore()
        var request = Crm_Customer_V1_ImportCustomersRequest()
        request.sourceSystem = "legacy cards"
        request.rows = [rows[0], rows[0]]
        request.rejectDuplicatesFromScore = 101
        let finished = request
        let error = await #expect(throws: RPCError.self) {
            try await fixture.write { directory, db in try directory.importCustomers(finished, caller: .servicing, db) }
        }
        #expect(Set(error?.fieldViolations.map(\.field) ?? []) == ["sourceSystem", "rejectDuplicatesFromScore"])
        var tooMany = Crm_Customer_V1_ImportCustomersRequest()
        tooMany.sourceSystem = "x"
        tooMany.rows = (0..<501).map { row(UInt64($0), "R\($0)", Profiles.individual(residentID: nil, phone: nil)) }
        let big = tooMany
        let refused = await #expect(throws: RPCError.self) {
            try await fixture.write { directory, db in try directory.importCustomers(big, caller: .servicing, db) }
        }
        #expect(refused?.fieldViolations.map(\.field) == ["rows"])
    }

    @Test("a row without a source id, or repeating one, rejects only itself")
    func rowWithoutSourceID() async throws {
        let fixture = try TemporaryCustomerStore()
        var noSourceID = rows[3]
        noSourceID.sourceID = "  "
        let result = try await importRows(fixture, [rows[0], noSourceID, rows[0]])
        #expect(result.results.map(\.outcome) == [.created, .rejected, .rejected])
        #expect((result.created, result.rejected) == (1, 2))
        #expect(result.results[1].reason == "INVALID_FIELD")
        #expect(result.results[1].problems == ["sourceId: is required"])
        #expect(result.results[1].line == 5)
        #expect(result.results[2].problems == ["sourceId: repeats an earlier row of this batch"])
        #expect(try await fixture.read { _, db in try Int.fetchOne(db, sql: "SELECT count(*) FROM customer") } == 1)
    }

    @Test("a dry run answers what the import would do and changes nothing: no customer, event, audit row or import record")
    func dryRun() async throws {
        let fixture = try TemporaryCustomerStore()
        func counts() async throws -> [Int] {
            try await fixture.read { _, db in
                try ["customer", "audit_log", "import_source", "change_log"].map { try Int.fetchOne(db, sql: "SELECT count(*) FROM \($0)") ?? -1 }
            }
        }
        let before = try await counts()
        var request = Crm_Customer_V1_ImportCustomersRequest()
        request.sourceSystem = "legacy-cards"
        request.rows = rows
        request.dryRun = true
        let finished = request
        let dry = try await fixture.write { directory, db in try directory.importCustomers(finished, caller: .servicing, db) }
        #expect(dry.results.map(\.outcome) == [.created, .rejected, .rejected, .created])
        #expect(dry.results[3].possibleDuplicates.count == 1, "the duplicate check sees the rows before it in the batch")
        #expect(dry.results.allSatisfy { $0.outcome != .created || $0.customerID.isEmpty })
        #expect(try await counts() == before)
        // The real import afterwards gives the same answers, with the first customer ids.
        let real = try await importRows(fixture, rows)
        #expect(real.results.map(\.outcome) == dry.results.map(\.outcome))
        #expect(real.results[0].customerID == "C0000000001")
    }
}
