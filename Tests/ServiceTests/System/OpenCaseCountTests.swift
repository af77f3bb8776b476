import CRMAPI
import RPCTransport
import Testing
import WireProtocol

@Suite("ServiceDesk open case counts", .serialized)
struct OpenCaseCountTests {
    @Test("a queue's open cases are counted through the gateway; a resolved case and another queue's are not")
    func counts() async throws {
        let system = try await CRMSystem.start()
        let client = system.client()
        let customer = try await client.unary(
            CustomerMethods.create, JourneyTests.individual("钱七", "Qian Qi", birthDate: "1990-03-04", sequence: 31, phone: "13800000031")).customer
        func open(_ queue: String) async throws -> Crm_Servicedesk_V1_Case {
            let request: Crm_Servicedesk_V1_OpenCaseRequest = try JourneyTests.json(
                #"{"kind": "CASE_KIND_SERVICE_REQUEST", "category": "cards/fees", "channel": "CASE_CHANNEL_PHONE", "priority": "CASE_PRIORITY_MEDIUM", "customerId": "\#(customer.id)", "subject": "card replacement", "queue": "\#(queue)"}"#)
            return try await JourneyTests.retrying("open a case") { try await client.unary(ServiceDeskMethods.openCase, request).case }
        }
        func count(_ queue: String) async throws -> UInt64 {
            var request = Crm_Servicedesk_V1_CountOpenCasesRequest()
            request.queue = queue
            return try await client.unary(ServiceDeskMethods.countOpenCases, request).openCases
        }
        #expect(try await count("cards") == 0)
        let first = try await open("cards")
        _ = try await open("cards")
        _ = try await open("loans")
        #expect(try await count("cards") == 2)
        var cancel = Crm_Servicedesk_V1_TransitionCaseRequest()
        cancel.id = first.id
        cancel.expectedVersion = first.version
        cancel.event = .cancel
        cancel.reason = "opened twice"
        _ = try await client.unary(ServiceDeskMethods.transitionCase, cancel)
        #expect(try await count("cards") == 1)
        #expect(try await count("loans") == 1)
        await system.expectCleanShutdown()
    }
}
