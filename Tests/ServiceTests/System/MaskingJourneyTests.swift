import Foundation
import NIOCore
import ServiceRuntime
import SwiftProtobuf
import TestSupport
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

extension JourneyTests {
    /// The reporting role of the gateway's policy (``CRMSystem``): names, identity numbers, phones and
    /// addresses partly masked, e-mail and birth date withheld.
    @Test("masking by the gateway's role policy: reporting sees names, numbers and addresses partly masked and no e-mail or birth date, in Get, GetView, Search, GetHousehold and the feed; the call centre sees them in clear; the audit trail is refused")
    func maskingFollowsTheRolePolicy() async throws {
        let system = try await CRMSystem.start()
        let callCentre = system.client()
        let reporting = system.client(.reporting)
        let document = Profiles.residentID(birthDate: "1980-06-01", sequence: 55)
        let maskedDocument = String(document.prefix(3)) + String(repeating: "*", count: 11) + String(document.suffix(4))

        var create = Crm_Customer_V1_CreateCustomerRequest()
        create.profile = Profiles.individual(
            nameZh: "王小明", nameLatin: "Wang Xiaoming", birthDate: "1980-06-01", residentID: document, phone: "13700000000", email: "wangxm@example.com")
        var home = Crm_Customer_V1_Contact()
        home.kind = .address
        home.address.line1 = "建国路88号"
        home.address.city = "北京"
        home.address.province = "北京"
        home.address.postalCode = "100022"
        create.profile.contacts.append(home)
        let person = try await callCentre.unary(CustomerMethods.create, create).customer
        #expect(!person.masked)
        let created = try await callCentre.unary(
            CustomerMethods.createHousehold,
            try Self.json(#"{"name": "王家", "members": [{"customerId": "\#(person.id)", "role": "HOUSEHOLD_ROLE_HEAD"}]}"#))

        // Customer.Get and Customer.GetView: every personal field by its treatment.
        let get: Crm_Customer_V1_GetCustomerRequest = try Self.json(#"{"id": "\#(person.id)"}"#)
        let view: Crm_Customer_V1_GetCustomerViewRequest = try Self.json(#"{"id": "\#(person.id)"}"#)
        let seen = try await reporting.unary(CustomerMethods.get, get).customer
        let viewed = try await reporting.unary(CustomerMethods.getView, view).view.customer
        for customer in [seen, viewed] {
            #expect(customer.masked)
            #expect(customer.profile.individual.nameZh == "王**")
            #expect(customer.profile.individual.nameLatin == "W*** X*******")
            #expect(customer.profile.individual.birthDate == "")
            #expect(customer.profile.documents.map(\.number) == [maskedDocument])
            let contacts = customer.profile.contacts
            #expect(contacts.first { $0.kind == .phone }?.value == "+86137****0000")
            #expect(contacts.first { $0.kind == .email }?.value == "")
            let address = try #require(contacts.first { $0.kind == .address }?.address)
            #expect(address.line1 == "" && address.postalCode == "" && address.city == "北京" && address.province == "北京")
        }

        // Customer.Search: the display name of an individual.
        let search: Crm_Customer_V1_SearchCustomersRequest = try Self.json(#"{"phone": "13700000000"}"#)
        #expect(try await reporting.unary(CustomerMethods.search, search).customers.map(\.displayName) == ["王**"])
        #expect(try await callCentre.unary(CustomerMethods.search, search).customers.map(\.displayName) == ["王小明"])

        // Customer.GetHousehold (and CreateHousehold's answer): the household's name and its members' names.
        #expect(created.household.name == "王家")
        let household = try await reporting.unary(CustomerMethods.getHousehold, try Self.json(#"{"householdId": "\#(created.household.id)"}"#)).household
        #expect(household.name == "王*")
        #expect(household.members.map(\.displayName) == ["王**"])

        // Feed.Subscribe through the gateway: the customer events' names and birth dates.
        let events = try await Self.customerEvents(of: person.id, from: reporting, consumer: "reporting-feed")
        #expect(!events.isEmpty)
        for event in events {
            #expect(event.displayName == "王**" && event.nameZh == "王**" && event.nameLatin == "W*** X*******" && event.birthDate == "")
        }
        let clearEvents = try await Self.customerEvents(of: person.id, from: callCentre, consumer: "call-centre-feed")
        #expect(clearEvents.first?.nameZh == "王小明" && clearEvents.first?.birthDate == "1980-06-01")

        // The call centre (servicing) sees it all in clear.
        let clear = try await callCentre.unary(CustomerMethods.get, get).customer
        #expect(!clear.masked && clear.profile.individual.birthDate == "1980-06-01")
        #expect(clear.profile.contacts.contains { $0.value == "wangxm@example.com" })

        // Customer.ListAudit: the trail holds personal data; a role that sees any of it masked may not read it.
        let audit: Crm_Customer_V1_ListAuditRequest = try Self.json(#"{"customerId": "\#(person.id)"}"#)
        let refusal = await #expect(throws: RPCError.self) { _ = try await reporting.unary(CustomerMethods.listAudit, audit) }
        #expect(refusal?.code == .permissionDenied)

        await reporting.close()
        await callCentre.close()
        await system.shutdown()
    }

    /// The CustomerChanged payloads of `customer`'s events, read from the start of the customer feed
    /// through the gateway until the first event of another entity or the end of what is there.
    static func customerEvents(of customer: String, from client: RPCClient, consumer: String) async throws -> [Crm_Customer_V1_CustomerChanged] {
        var subscribe = Crm_Feed_V1_SubscribeRequest()
        subscribe.consumer = consumer
        var changes: [Crm_Customer_V1_CustomerChanged] = []
        // The stream never ends on its own: its deadline ends it once the log is read.
        do {
            for try await event in try await client.serverStream(FeedMethods.subscribe, subscribe, timeout: .seconds(2))
            where event.entityKey == customer && event.payloadType == Crm_Customer_V1_CustomerChanged.protoMessageName {
                changes.append(try Crm_Customer_V1_CustomerChanged(serializedBytes: event.payload))
            }
        } catch let error as RPCError where error.code == .deadlineExceeded {}
        return changes
    }
}
