import Foundation
import Testing

/// crm-servicedesk as operators start it (the full path with crm-customer and the gateway is in
/// GatewayProcessTests).
@Suite("crm-servicedesk process")
struct ServiceDeskProcessTests {
    @Test("without the customer feed's address it does not start: one line naming the key, exit status 78")
    func needsCustomerFeed() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crm-servicedesk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = try await Executables.run("crm-servicedesk", [], environment: ["CRM_LISTEN_PORT": "0"], directory: folder)
        #expect(output.status == 78)
        #expect(output.stderr.contains("feeds.customer.address"), "\(output.stderr)")
        #expect(output.stderr.split(separator: "\n").count == 1)
    }
}
