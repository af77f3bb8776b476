@testable import CustomerService
import Foundation
import GRDB
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI

/// CustomerService's rules against a real SQLite file.
@Suite("Customer master data")
struct CustomerDirectoryTests {
    @Test("create stores the profile in normal form at version 1, active, a prospect")
    func create() async throws {
        let fixture = try TemporaryCustomerStore()
        var profile = Profiles.individual(phone: "138 1234 5678", email: "Zhang.San@Example.com")
        profile.documents[0].number = "110105 19491231 002x"
        let created = try await fixture.create(profile).customer
        #expect(created.id == "C0000000001")
        #expect(created.version == 1)
        #expect(created.status == .active)
        #expect(created.lifecycleStage == .prospect)
        #expect(!created.masked)
        #expect(created.profile.documents[0].number == "11010519491231002X")
        #expect(created.profile.documents[0].issuingCountry == "CHN")
        #expect(created.profile.contacts.map(\.value) == ["+8613812345678", "zhang.san@example.com"])
        #expect(created.createdAt.milliseconds == 1_795_000_000_000)
    }

    @Test("an identity document held by a live customer is refused, and stays refused while that customer is inactive")
    func duplicateDocumentRefused() async throws {
        let fixture = try TemporaryCustomerStore()
        let first = try await fixture.create(Profiles.individual()).customer
        let error = await #expect(throws: RPCError.self) {
            try await fixture.create(Profiles.individual(nameZh: "李四", nameLatin: "Li Si", phone: nil))
        }
        #expect(error?.code == .alreadyExists)
        #expect(error?.reason == "DUPLICATE_DOCUMENT")
        #expect(error?.details["existing_customer_id"] == first.id)
        #expect(error?.fieldViolations.first?.field == "profile.documents[0].number")

        _ = try await fixture.setActive(false, first.id, version: 1, reason: "customer moved abroad")
        await #expect(throws: RPCError.self) { try await fixture.create(Profiles.individual(phone: nil)) }
    }

    @Test("likely duplicates are created and returned as scored warnings with reasons")
    func likelyDuplicates() async throws {
        let fixture = try TemporaryCustomerStore()
        let first = try await fixture.create(Profiles.individual(email: "zs@example.com")).customer
        let second = try await fixture.create(
            Profiles.individual(nameLatin: "", residentID: nil, phone: "+86 138 1234 5678", email: "other@example.com"))
        #expect(second.customer.id == "C0000000002")
        #expect(second.possibleDuplicates.count == 1)
        let candidate = try #require(second.possibleDuplicates.first)
        #expect(candidate.customerID == first.id)
        #expect(candidate.score == 100)
        #expect(Set(candidate.reasons) == ["same phone", "same name and birth date"])

        let unrelated = try await fixture.create(
            Profiles.individual(nameZh: "王五", nameLatin: "Wang Wu", birthDate: "1985-06-30", residentID: nil, phone: "13900000000"))
        #expect(unrelated.possibleDuplicates.isEmpty)
    }

    @Test("an update reports likely duplicates when it changes what they are found by, and rewrites only what changed")
    func updateDuplicatesAndRewrites() async throws {
        let fixture = try TemporaryCustomerStore()
        let first = try await fixture.create(Profiles.individual(email: "zs@example.com")).customer
        let second = try await fixture.create(
            Profiles.individual(nameZh: "王五", nameLatin: "Wang Wu", birthDate: "1985-06-30", residentID: nil, phone: "13900000000")).customer
        // Count the rewrites: every rewrite deletes the rows it replaces.
        try await fixture.store.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE rewritten (what TEXT NOT NULL);
                    CREATE TRIGGER contact_rewritten AFTER DELETE ON customer_contact BEGIN INSERT INTO rewritten VALUES ('contact'); END;
                    CREATE TRIGGER variant_rewritten AFTER DELETE ON customer_name_variant BEGIN INSERT INTO rewritten VALUES ('variant'); END;
                    """)
        }
        func rewritten() async throws -> Set<String> {
            try await fixture.store.write { db in
                defer { _ = try? db.execute(sql: "DELETE FROM rewritten") }
                return Set(try String.fetchAll(db, sql: "SELECT what FROM rewritten"))
            }
        }

        // The preferred channel alone: no duplicate search, contacts and name variants kept as they were.
        var profile = second.profile
        profile.preferredChannel = profile.preferredChannel == .sms ? .email : .sms
        let channel = try await fixture.update(second.id, version: 1, to: profile)
        #expect(channel.customer.version == 2)
        #expect(channel.customer.profile.preferredChannel == profile.preferredChannel)
        #expect(channel.possibleDuplicates.isEmpty)
        #expect(try await rewritten().isEmpty)

        // Taking the first customer's phone: a new duplicate, reported, and the contacts rewritten.
        profile.contacts[0].value = first.profile.contacts[0].value
        let phone = try await fixture.update(second.id, version: 2, to: profile)
        #expect(phone.possibleDuplicates.map(\.customerID) == [first.id])
        #expect(phone.customer.profile.contacts[0].value == first.profile.contacts[0].value)
        #expect(try await rewritten() == ["contact"])

        // A new name: the name variants follow it (a fuzzy search finds the new name, not the old).
        profile.individual.nameLatin = "Wang Liu"
        let renamed = try await fixture.update(second.id, version: 3, to: profile)
        #expect(renamed.customer.profile.individual.nameLatin == "Wang Liu")
        #expect(try await rewritten() == ["variant"])
        // Only changed columns are written: the row holds every change, its search key included.
        let stored = try await fixture.read { _, db in
            try Row.fetchOne(db, sql: "SELECT name_latin, name_latin_key, name_zh, preferred_channel, version FROM customer WHERE key = 2")!
                .databaseValues.map(\.description)
        }
        #expect(stored == [
            "\"Wang Liu\"", "\"\(CustomerRecords.nameKey("Wang Liu"))\"", "\"王五\"", "\(profile.preferredChannel.rawValue)", "4",
        ])
        #expect(try await fixture.get(second.id).profile == renamed.customer.profile)
        let audit = try await fixture.read { _, db in
            try String.fetchAll(db, sql: "SELECT field FROM audit_log WHERE customer_key = 2 AND action = 'update' ORDER BY sequence")
        }
        #expect(audit == ["preferredChannel", "contacts[0].value", "individual.nameLatin"])
    }

    @Test("a wrong check digit is refused, naming the field and the expected character")
    func wrongCheckDigit() async throws {
        let fixture = try TemporaryCustomerStore()
        let error = await #expect(throws: RPCError.self) {
            try await fixture.create(Profiles.individual(residentID: "110105194912310021"))
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.fieldViolations == [.init(field: "profile.documents[0].number", description: "the check character should be X")])
        let count = try await fixture.read { _, db in try Int.fetchOne(db, sql: "SELECT count(*) FROM customer") }
        #expect(count == 0)
    }

    @Test("the birth date in a resident id must agree with the birth date given")
    func birthDateMismatch() async throws {
        let fixture = try TemporaryCustomerStore()
        let error = await #expect(throws: RPCError.self) {
            try await fixture.create(Profiles.individual(birthDate: "1950-01-01"))
        }
        #expect(error?.fieldViolations.first?.description == "encodes the birth date 1949-12-31, not 1950-01-01")
    }

    @Test("an update naming a stale version is refused with ABORTED and the current version; nothing changes")
    func staleVersion() async throws {
        let fixture = try TemporaryCustomerStore()
        let created = try await fixture.create(Profiles.individual()).customer
        let updated = try await fixture.update(created.id, version: 1, to: Profiles.individual(nameZh: "张三丰")).customer
        #expect(updated.version == 2)
        #expect(updated.profile.individual.nameZh == "张三丰")

        let error = await #expect(throws: RPCError.self) {
            try await fixture.update(created.id, version: 1, to: Profiles.individual(nameZh: "张无忌"))
        }
        #expect(error?.code == .aborted)
        #expect(error?.reason == "STALE_VERSION")
        #expect(error?.details["current_version"] == "2")
        let stored = try await fixture.get(created.id)
        #expect(stored.profile.individual.nameZh == "张三丰")
        #expect(stored.version == 2)
    }

    @Test("an update that changes nothing keeps the version and writes no audit row")
    func noOpUpdate() async throws {
        let fixture = try TemporaryCustomerStore()
        let created = try await fixture.create(Profiles.individual()).customer
        let result = try await fixture.update(created.id, version: 1, to: Profiles.individual())
        #expect(result.customer.version == 1)
        let rows = try await fixture.read { _, db in try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_log") }
        #expect(rows == 1)
    }

    @Test("every changed field is audited with caller, end user, request id, before and after")
    func updateAudited() async throws {
        let fixture = try TemporaryCustomerStore()
        let created = try await fixture.create(Profiles.individual()).customer
        _ = try await fixture.update(created.id, version: 1, to: Profiles.individual(nameZh: "张三丰", phone: "13999999999"))
        let rows = try await fixture.read { _, db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_log WHERE action = 'update' ORDER BY field").map { row in
                [row["field"], row["before"], row["after"], row["caller_system"], row["end_user"], row["request_id"]] as [String]
            }
        }
        let request_id = "0af7651916cd43dd8448eb211c80319c"
        #expect(rows == [
            ["contacts[0].value", "+8613812345678", "+8613999999999", "branch-teller", "u1001", request_id],
            ["individual.nameZh", "张三", "张三丰", "branch-teller", "u1001", request_id],
        ])
    }

    @Test("masking: a role the policy does not describe sees starred numbers and names, no birth date, a starred e-mail, and is not audited; servicing and KYC see them, and the read is in the access log")
    func maskingByRole() async throws {
        let fixture = try TemporaryCustomerStore()
        let created = try await fixture.create(Profiles.individual(email: "zs@example.com"), caller: .marketing).customer
        #expect(created.masked)
        var get = Crm_Customer_V1_GetCustomerRequest()
        get.id = created.id
        let request = get

        let marketing = try await fixture.read { directory, db in try directory.get(request, caller: .marketing, db) }.customer
        #expect(marketing.masked)
        #expect(marketing.profile.documents[0].number == "110***********002X")
        #expect(marketing.profile.contacts[0].value == "+86138****5678")
        #expect(marketing.profile.contacts[1].value == "z*@example.com")
        #expect(marketing.profile.individual.nameZh == "张*" && marketing.profile.individual.nameLatin == "Z**** S**")
        #expect(marketing.profile.individual.birthDate == "")
        let unknownRole = try await fixture.read { directory, db in
            try directory.get(request, caller: Caller(system: "direct"), db)
        }.customer
        #expect(unknownRole.masked)

        for caller in [Caller.servicing, .kyc] {
            let full = try await fixture.get(created.id, caller: caller)
            #expect(!full.masked)
            #expect(full.profile.documents[0].number == Profiles.standardResidentID)
            #expect(full.profile.contacts[0].value == "+8613812345678")
        }
        // Only the unmasked reads are in the access log, and none of them wrote to the customer database.
        #expect(try await fixture.accessRows() == ["branch-teller read 1", "kyc-portal read 1"])
        let readsInChangeLog = try await fixture.read { _, db in try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_log WHERE action = 'read'") }
        #expect(readsInChangeLog == 0)
    }

    @Test("a role with some fields in clear sees those, and its read is in the access log naming them; it may not read the audit trail")
    func partlyClearRole() async throws {
        let fixture = try TemporaryCustomerStore()
        let created = try await fixture.create(Profiles.individual(email: "zs@example.com")).customer
        let analyst = Caller(
            system: "risk-models", role: "analyst",
            masking: MaskingPolicy([.name: .clear, .birthDate: .partial, .document: .withheld, .phone: .clear, .email: .partial]))
        let seen = try await fixture.get(created.id, caller: analyst)
        #expect(seen.masked)
        #expect(seen.profile.individual.nameZh == "张三" && seen.profile.individual.birthDate == "1949-**-**")
        #expect(seen.profile.documents.map(\.number) == [""])
        #expect(seen.profile.contacts.map(\.value) == ["+8613812345678", "z*@example.com"])
        #expect(try await fixture.accessRows() == ["risk-models read 1"])
        let field = try await fixture.accessLog.store.read { db in try String.fetchOne(db, sql: "SELECT field FROM access_log") }
        #expect(field == "name,phone")
        var audit = Crm_Customer_V1_ListAuditRequest()
        audit.customerID = created.id
        let request = audit
        #expect(throws: RPCError.self) { try CustomerDirectory().auditQuery(request, caller: analyst) }
    }

    @Test("deactivate and reactivate move the status, bump the version, need a reason and the right starting status")
    func deactivateReactivate() async throws {
        let fixture = try TemporaryCustomerStore()
        let created = try await fixture.create(Profiles.individual()).customer
        var request = Crm_Customer_V1_SetCustomerActiveRequest()
        request.id = created.id
        request.expectedVersion = 1
        let noReason = request
        let missing = await #expect(throws: RPCError.self) {
            try await fixture.write { directory, db in try directory.setActive(false, noReason, caller: .servicing, db) }
        }
        #expect(missing?.fieldViolations.first?.field == "reason")

        request.reason = "account closed at the customer's request"
        let deactivate = request
        let inactive = try await fixture.write { directory, db in try directory.setActive(false, deactivate, caller: .servicing, db) }.customer
        #expect(inactive.status == .inactive)
        #expect(inactive.version == 2)

        request.expectedVersion = 2
        let again = request
        let twice = await #expect(throws: RPCError.self) {
            try await fixture.write { directory, db in try directory.setActive(false, again, caller: .servicing, db) }
        }
        #expect(twice?.code == .failedPrecondition)
        #expect(twice?.reason == "CUSTOMER_INACTIVE")

        let active = try await fixture.write { directory, db in try directory.setActive(true, again, caller: .servicing, db) }.customer
        #expect(active.status == .active)
        #expect(active.version == 3)
    }

    @Test("unknown and malformed ids: INVALID_ARGUMENT or NOT_FOUND")
    func ids() async throws {
        let fixture = try TemporaryCustomerStore()
        for (id, code) in [("C0000000099", ErrorCode.notFound), ("C12", .invalidArgument), ("X0000000001", .invalidArgument), ("C0000000000", .invalidArgument)] {
            var get = Crm_Customer_V1_GetCustomerRequest()
            get.id = id
            let request = get
            let error = await #expect(throws: RPCError.self) {
                try await fixture.read { directory, db in try directory.get(request, caller: .marketing, db) }
            }
            #expect(error?.code == code, "\(id)")
        }
    }
}
