import Foundation
import GRDB
import ServiceRuntime
import TestSupport
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

extension JourneyTests {
    @Test("erasure reaches every copy: the person's name, phone, identity number and e-mail, written into every free text of every service, are in no database or WAL file afterwards, and the audit says what was erased where")
    func erasureReachesEveryCopy() async throws {
        let system = try await CRMSystem.start()
        let client = system.client()
        let document = Profiles.residentID(birthDate: "1980-06-01", sequence: 77)
        let secrets = ["王五", "Wang Wu", "wangwu", document, "13700000000", "wangwu@example.com"]
        // What staff write about a person: all of it, in every free-text field there is.
        let said = "王五 Wang Wu \(document) 13700000000 wangwu@example.com"

        var create = Crm_Customer_V1_CreateCustomerRequest()
        create.profile = Profiles.individual(nameZh: "王五", nameLatin: "Wang Wu", birthDate: "1980-06-01", residentID: document, phone: "13700000000", email: "wangwu@example.com")
        var person = try await client.unary(CustomerMethods.create, create).customer
        let personID = person.id
        // A second record of the same person, merged into the first: it is erased with it.
        create.profile = Profiles.individual(
            nameZh: "王五", nameLatin: "Wang Wu", birthDate: "1980-06-01", residentID: Profiles.residentID(birthDate: "1980-06-01", sequence: 78),
            phone: nil, email: "wangwu@example.com")
        let duplicate = try await client.unary(CustomerMethods.create, create).customer

        // CustomerService: contact history, consent source, household name, legal hold, merge reason.
        _ = try await client.unary(
            CustomerMethods.recordInteraction,
            try Self.json(#"{"interaction": {"customerId": "\#(person.id)", "channel": "INTERACTION_CHANNEL_CALL", "subject": "\#(said)", "outcome": "\#(said)", "handledBy": "RM001"}}"#))
        _ = try await client.unary(
            CustomerMethods.recordConsent,
            try Self.json(#"{"customerId": "\#(person.id)", "consent": {"channel": "CHANNEL_SMS", "purpose": "CONSENT_PURPOSE_MARKETING", "granted": true, "source": "\#(said)"}}"#))
        _ = try await client.unary(
            CustomerMethods.createHousehold,
            try Self.json(#"{"name": "王五 13700000000", "members": [{"customerId": "\#(person.id)", "role": "HOUSEHOLD_ROLE_HEAD"}]}"#))
        let hold = try await client.unary(
            CustomerMethods.placeLegalHold, try Self.json(#"{"id": "\#(person.id)", "basis": "\#(said)", "untilDate": "2031-12-31"}"#))
        _ = try await client.unary(CustomerMethods.releaseLegalHold, try Self.json(#"{"holdId": "\#(hold.holdID)", "reason": "\#(said)"}"#))
        person = try await client.unary(CustomerMethods.get, try Self.json(#"{"id": "\#(person.id)"}"#)).customer
        _ = try await client.unary(
            CustomerMethods.merge,
            try Self.json(
                #"{"survivorId": "\#(person.id)", "survivorExpectedVersion": "\#(person.version)", "mergedId": "\#(duplicate.id)", "mergedExpectedVersion": "\#(duplicate.version)", "reason": "\#(said)"}"#))

        // ServiceDesk: a case's subject, description, account, transition reasons, root cause, satisfaction comment.
        let open: Crm_Servicedesk_V1_OpenCaseRequest = try Self.json(
            #"{"kind": "CASE_KIND_INQUIRY", "category": "cards/fees", "channel": "CASE_CHANNEL_PHONE", "priority": "CASE_PRIORITY_HIGH", "customerId": "\#(person.id)", "accountRef": "13700000000", "subject": "\#(said)", "description": "\#(said)", "queue": "inquiries"}"#)
        let opened = try await Self.retrying("open the case") { try await client.unary(ServiceDeskMethods.openCase, open).case }
        var version = opened.version
        for event in [#""event": "CASE_EVENT_ASSIGN", "assignee": "agent-7", "reason": "\#(said)""#, #""event": "CASE_EVENT_START", "reason": "\#(said)""#,
                      #""event": "CASE_EVENT_RESOLVE", "reason": "\#(said)", "resolution": {"rootCause": "\#(said)", "resolutionCode": "ANSWERED"}"#] {
            let transition: Crm_Servicedesk_V1_TransitionCaseRequest = try Self.json(#"{"id": "\#(opened.id)", "expectedVersion": "\#(version)", \#(event)}"#)
            version = try await client.unary(ServiceDeskMethods.transitionCase, transition).case.version
        }
        _ = try await client.unary(ServiceDeskMethods.recordSatisfaction, try Self.json(#"{"caseId": "\#(opened.id)", "score": 2, "comment": "\#(said)"}"#))

        // Marketing: an opportunity lost with a reason, a task's title and outcome, tags.
        var opportunity = try await Self.retrying("create the opportunity") {
            try await client.unary(
                MarketingMethods.createOpportunity,
                try Self.json(#"{"customerId": "\#(personID)", "product": "wealth/fund-a", "amountMinor": "5000000", "currency": "CNY", "ownerRmId": "RM001", "expectedCloseDate": "\#(Self.date(20))"}"#)
            ).opportunity
        }
        opportunity = try await client.unary(
            MarketingMethods.moveOpportunity,
            try Self.json(#"{"id": "\#(opportunity.id)", "expectedVersion": "\#(opportunity.version)", "stage": "OPPORTUNITY_STAGE_LOST", "reason": "\#(said)"}"#)).opportunity
        let task = try await client.unary(
            MarketingMethods.createTask,
            try Self.json(#"{"customerId": "\#(person.id)", "ownerRmId": "RM001", "title": "\#(said)", "dueDate": "\#(Self.date(3))"}"#)).task
        _ = try await client.unary(
            MarketingMethods.closeTask,
            try Self.json(#"{"id": "\#(task.id)", "expectedVersion": "\#(task.version)", "status": "TASK_STATUS_DONE", "outcome": "\#(said)"}"#))
        _ = try await client.unary(MarketingMethods.setCustomerTags, try Self.json(#"{"customerId": "\#(person.id)", "tags": ["wangwu", "13700000000"]}"#))

        // Everything has reached the customer's contact history and view before the erasure.
        let viewRequest: Crm_Customer_V1_GetCustomerViewRequest = try Self.json(#"{"id": "\#(person.id)"}"#)
        _ = try await Self.retrying("the case and the opportunity in the view") {
            let view = try await client.unary(CustomerMethods.getView, viewRequest).view
            guard view.cases.contains(where: { $0.resolvedAt.milliseconds > 0 }), !view.opportunities.isEmpty else { throw NotYet(description: "\(view.cases)") }
        }
        let planted = try await files(of: system, holding: secrets)
        #expect(planted.contains { $0.hasPrefix("servicedesk") } && planted.contains { $0.hasPrefix("marketing") }, "\(planted)")

        person = try await client.unary(CustomerMethods.get, try Self.json(#"{"id": "\#(person.id)"}"#)).customer
        let erased = try await client.unary(
            CustomerMethods.erase, try Self.json(#"{"id": "\#(person.id)", "expectedVersion": "\#(person.version)", "basis": "PIPL art. 47, request by 王五"}"#))
        #expect(erased.erased)

        // Not a byte of it left in any database or WAL file of any service.
        let left = Recorder<[String]>([])
        let clean = await eventually(seconds: 30) {
            let found = (try? await files(of: system, holding: secrets)) ?? ["unreadable"]
            left.update { [found] in $0 = found }
            return found.isEmpty
        }
        #expect(clean, "still held: \(left.value)")

        // The facts stay: the case, the lost opportunity, the task, their texts blanked.
        let kept = try await client.unary(ServiceDeskMethods.getCase, try Self.json(#"{"id": "\#(opened.id)"}"#)).case
        #expect((kept.subject, kept.description_p, kept.resolution.rootCause, kept.resolution.resolutionCode) == ("[erased]", "[erased]", "[erased]", "ANSWERED"))
        #expect(kept.version > version)
        let lost = try await client.unary(MarketingMethods.getOpportunity, try Self.json(#"{"id": "\#(opportunity.id)"}"#)).opportunity
        #expect((lost.stage, lost.lostReason, lost.amountMinor) == (.lost, "[erased]", 5_000_000))

        // The audit log says what was erased where: here (the contact history holds the case's opening
        // and resolution too), and in each service that held something.
        let places = try await system.read(.customer) { db in
            try Row.fetchAll(
                db, sql: "SELECT action, field, after FROM audit_log WHERE customer_key = ? AND action IN ('erase', 'erase-applied') ORDER BY sequence",
                arguments: [Int64(personID.dropFirst())!]
            ).map { "\($0[0] as String) \($0[1] as String): \($0[2] as String)" }
        }
        for expected in [
            "erase customer interaction.subject: 3 rows", "erase customer legal_hold.basis: 1 rows", "erase customer household.name: 1 rows",
            "erase customer customer_merge.reason: 1 rows", "erase-applied servicedesk service_case.subject: 1 rows",
            "erase-applied servicedesk case_transition.reason: 3 rows", "erase-applied marketing opportunity_stage.reason: 2 rows",
            "erase-applied marketing rm_task.title: 1 rows", "erase-applied marketing customer_tag: 2 rows", "erase-applied marketing change_log.payload: 5 rows",
        ] {
            #expect(places.contains(expected), "\(expected) not in \(places)")
        }
        await client.close()
        await system.expectCleanShutdown()
    }

    /// "<file>: <secret>" for each database file (the WAL and the access log included) that holds a
    /// secret anywhere in its bytes.
    private func files(of system: CRMSystem, holding secrets: [String]) async throws -> [String] {
        let folder = system.temporary.url
        var found: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() where name.contains(".sqlite") {
            let bytes = try Data(contentsOf: folder.appendingPathComponent(name))
            for secret in secrets where bytes.range(of: Data(secret.utf8)) != nil {
                found.append("\(name): \(secret)")
            }
        }
        return found
    }
}
