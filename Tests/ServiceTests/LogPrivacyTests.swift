import Foundation
import ServiceRuntime
import SwiftProtobuf
import TestSupport
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// Logs go to the journal, which far more people read than the customer master: no identity
/// number, phone, e-mail or full name may reach it, at any log level, on any path (success,
/// refusal, conflict, lookups by each of them).
@Suite("Logs hold no personal data")
struct LogPrivacyTests {
    @Test("crm-customer at trace level: creating, refusing, finding and updating customers logs none of their personal data")
    func customerLogs() async throws {
        let temporary = try TemporaryFolder("crm-log-privacy")
        let (server, port) = try await ServerProcess.start(
            "crm-customer",
            environment: ["CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": temporary.path("customer.sqlite"), "CRM_LOG_LEVEL": "trace"],
            directory: temporary.url)
        let client = RPCClient(configuration: .loopback(port: port))
        let secrets = [
            "11010519491231002X", "13812345678", "张三丰", "Zhang Sanfeng", "zhang.sanfeng@example.com", "110101198001010019", "13987654321",
        ]

        let profile = Profiles.individual(nameZh: "张三丰", nameLatin: "Zhang Sanfeng", phone: "13812345678", email: "zhang.sanfeng@example.com")
        var create = Crm_Customer_V1_CreateCustomerRequest()
        create.profile = profile
        let created = try await client.unary(CustomerMethods.create, create).customer
        // The same document again: refused as a conflict, naming the existing customer, not the number.
        await #expect(throws: RPCError.self) { _ = try await client.unary(CustomerMethods.create, create) }
        // A bad document number and a bad phone: refused as invalid.
        var invalid = create
        invalid.profile = Profiles.individual(nameZh: "张三丰", residentID: "110101198001010019", phone: "13987654321x")
        await #expect(throws: RPCError.self) { _ = try await client.unary(CustomerMethods.create, invalid) }
        // Lookups by each personal field.
        for search in [#"{"namePrefix": "张三"}"#, #"{"documentNumber": "11010519491231002X"}"#, #"{"phone": "13812345678"}"#,
                       #"{"email": "zhang.sanfeng@example.com"}"#] {
            let request = try Crm_Customer_V1_SearchCustomersRequest(jsonString: search)
            #expect(try await client.unary(CustomerMethods.search, request).customers.count == 1, "\(search)")
        }
        var update = Crm_Customer_V1_UpdateCustomerRequest()
        update.id = created.id
        update.expectedVersion = created.version
        update.profile = Profiles.individual(nameZh: "张三丰", nameLatin: "Zhang Sanfeng", phone: "13987654321")
        _ = try await client.unary(CustomerMethods.update, update)
        await client.close()
        #expect(await server.stop() == 0)

        let log = server.log
        #expect(log.contains(#"method=Customer.Create"#), "the calls were logged: \(log.prefix(2000))")
        for secret in secrets {
            #expect(!log.contains(secret), "the log holds \(secret)")
        }
    }
}
