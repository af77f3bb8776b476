import Foundation
import NIOCore
import ServiceRuntime
import Testing
import TestSupport
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// crm-marketing as operators start it, with crm-customer producing the customer feed.
@Suite("crm-marketing process")
struct MarketingProcessTests {
    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crm-marketing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test("without the feeds' addresses it does not start: one line naming the key, exit status 78")
    func needsFeeds() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = try await Executables.run(
            "crm-marketing", [], environment: ["CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": folder.appendingPathComponent("m.sqlite").path], directory: folder)
        #expect(output.status == 78)
        #expect(output.stderr.contains("feeds.customer.address"), "\(output.stderr)")
        #expect(output.stderr.split(separator: "\n").count == 1)
    }

    @Test("a customer created at crm-customer reaches crm-marketing through the feed; an opportunity on it moves and shows in the pipeline; SIGTERM exits 0")
    func opportunityOnFedCustomer() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (customer, customerPort) = try await ServerProcess.start(
            "crm-customer", environment: ["CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": folder.appendingPathComponent("customer.sqlite").path],
            directory: folder)
        // No ServiceDesk here: its consumer waits for it, and the customer feed flows regardless.
        let absentDesk = try await FeedProcessTests.freePort()
        let (marketing, marketingPort) = try await ServerProcess.start(
            "crm-marketing",
            environment: [
                "CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": folder.appendingPathComponent("marketing.sqlite").path,
                "CRM_FEEDS_CUSTOMER_ADDRESS": "127.0.0.1:\(customerPort)", "CRM_FEEDS_SERVICEDESK_ADDRESS": "127.0.0.1:\(absentDesk)",
            ],
            directory: folder)
        let customers = RPCClient(configuration: .loopback(port: customerPort))
        let markets = RPCClient(configuration: .loopback(port: marketingPort))
        var create = Crm_Customer_V1_CreateCustomerRequest()
        create.profile.kind = .individual
        create.profile.individual.nameZh = "王芳"
        create.profile.branchID = "BJ-01"
        _ = try await customers.unary(CustomerMethods.create, create, timeout: TestTimeouts.call)

        var request = Crm_Marketing_V1_CreateOpportunityRequest()
        (request.customerID, request.product, request.amountMinor, request.currency) = ("C0000000001", "wealth/fund-a", 2_000_000, "CNY")
        (request.ownerRmID, request.expectedCloseDate) = ("RM001", "2026-12-31")
        let opportunityRequest = request
        let created = Recorder<Crm_Marketing_V1_Opportunity?>(nil)
        #expect(await eventually(seconds: 20) {
            guard let response = try? await markets.unary(MarketingMethods.createOpportunity, opportunityRequest, timeout: .seconds(5)) else { return false }
            created.update { $0 = response.opportunity }
            return true
        })
        let opportunity = try #require(created.value)
        #expect(opportunity.branchID == "BJ-01", "the branch comes from the mirror")
        var move = Crm_Marketing_V1_MoveOpportunityRequest()
        (move.id, move.expectedVersion, move.stage) = (opportunity.id, opportunity.version, .qualified)
        _ = try await markets.unary(MarketingMethods.moveOpportunity, move, timeout: TestTimeouts.call)
        var report = Crm_Marketing_V1_PipelineReportRequest()
        report.groupBy = .stage
        let rows = try await markets.unary(MarketingMethods.pipelineReport, report, timeout: TestTimeouts.call).rows
        #expect(rows.map { "\($0.key) \($0.amountMinor) \($0.weightedAmountMinor)" } == ["qualified 2000000 500000"])

        await markets.close()
        await customers.close()
        #expect(await marketing.stop() == 0)
        #expect(await customer.stop() == 0)
    }
}
