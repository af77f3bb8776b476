import Foundation
import GRDB
import NIOCore
import ServiceRuntime
import Testing
import TestSupport
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// crm-servicedesk as operators start it (the full path with crm-customer and the gateway is in
/// GatewayProcessTests).
@Suite("crm-servicedesk process")
struct ServiceDeskProcessTests {
    @Test("without the customer feed's address it does not start: one line naming the key, exit status 78")
    func needsCustomerFeed() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crm-servicedesk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = try await Executables.run(
            "crm-servicedesk", [], environment: ["CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": folder.appendingPathComponent("s.sqlite").path], directory: folder)
        #expect(output.status == 78)
        #expect(output.stderr.contains("feeds.customer.address"), "\(output.stderr)")
        #expect(output.stderr.split(separator: "\n").count == 1)
    }

    @Test("an SLA warning fired by the real process is not fired again after it is SIGKILLed and started on the same database")
    func warningOnceAcrossKill() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crm-servicedesk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (customer, customerPort) = try await ServerProcess.start(
            "crm-customer", environment: ["CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": folder.appendingPathComponent("customer.sqlite").path],
            directory: folder)
        let deskPort = try await FeedProcessTests.freePort()
        let deskDatabase = folder.appendingPathComponent("servicedesk.sqlite").path
        let deskEnvironment = [
            "CRM_LISTEN_PORT": "\(deskPort)", "CRM_DATABASE_PATH": deskDatabase, "CRM_FEEDS_CUSTOMER_ADDRESS": "127.0.0.1:\(customerPort)",
        ]
        var (desk, _) = try await ServerProcess.start("crm-servicedesk", environment: deskEnvironment, directory: folder)
        let customers = RPCClient(configuration: .loopback(port: customerPort))
        // Retries quickly and long enough to outlast the desk's restarts.
        var deskClient = RPCClient.Configuration.loopback(port: deskPort)
        (deskClient.initialBackoff, deskClient.maximumBackoff, deskClient.maximumAttempts) = (.milliseconds(20), .milliseconds(300), 50)
        let desks = RPCClient(configuration: deskClient)

        var create = Crm_Customer_V1_CreateCustomerRequest()
        create.profile.kind = .individual
        create.profile.individual.nameZh = "王芳"
        _ = try await customers.unary(CustomerMethods.create, create, timeout: TestTimeouts.call)
        // Every minute of every day is worked; the first response is due in 2 minutes, its warning
        // (1%) 1.2 seconds after opening.
        var calendar = Crm_Servicedesk_V1_SetBusinessCalendarRequest()
        calendar.timeZone = "Asia/Shanghai"
        calendar.days = (1...7).map { weekday in
            var day = Crm_Servicedesk_V1_WorkingDay()
            day.weekday = UInt32(weekday)
            var shift = Crm_Servicedesk_V1_WorkingShift()
            (shift.startMinute, shift.endMinute) = (0, 1440)
            day.shifts = [shift]
            return day
        }
        _ = try await desks.unary(ServiceDeskMethods.setBusinessCalendar, calendar, timeout: TestTimeouts.call)
        var policies = Crm_Servicedesk_V1_SetSlaPoliciesRequest()
        var policy = Crm_Servicedesk_V1_SlaPolicy()
        (policy.kind, policy.priority, policy.firstResponseMinutes, policy.resolutionMinutes, policy.warningPercent) = (.complaint, .high, 2, 60, 1)
        policies.policies = [policy]
        _ = try await desks.unary(ServiceDeskMethods.setSlaPolicies, policies, timeout: TestTimeouts.call)

        var open = Crm_Servicedesk_V1_OpenCaseRequest()
        (open.kind, open.category, open.channel, open.priority) = (.complaint, "cards/fees", .phone, .high)
        (open.customerID, open.subject, open.queue) = ("C0000000001", "annual fee charged twice", "complaints-north")
        let request = open
        // The customer arrives through the feed.
        #expect(await eventually(seconds: 20) { (try? await desks.unary(ServiceDeskMethods.openCase, request, timeout: .seconds(5))) != nil })
        var get = Crm_Servicedesk_V1_GetCaseRequest()
        get.id = "K0000000001"
        let query = get
        let warned = await eventually(seconds: 20) {
            _ = try? await desks.unary(ServiceDeskMethods.sweepSla, Crm_Servicedesk_V1_SweepSlaRequest(), timeout: .seconds(5))
            return (try? await desks.unary(ServiceDeskMethods.getCase, query, timeout: .seconds(5)))?.case.slas.first?.state == .warning
        }
        #expect(warned)

        await desk.kill()
        await desks.close()
        (desk, _) = try await ServerProcess.start("crm-servicedesk", environment: deskEnvironment, directory: folder)
        // A new client: nothing of the killed process's connection is reused.
        let restarted = RPCClient(configuration: deskClient)
        let again = try await restarted.unary(ServiceDeskMethods.sweepSla, Crm_Servicedesk_V1_SweepSlaRequest(), timeout: TestTimeouts.call)
        #expect(again.warnings == 0)
        #expect(try await restarted.unary(ServiceDeskMethods.getCase, query, timeout: TestTimeouts.call).case.slas.first?.state == .warning)
        await restarted.close()
        await customers.close()
        #expect(await desk.stop() == 0)
        #expect(await customer.stop() == 0)

        let queue = try DatabaseQueue(path: deskDatabase)
        #expect(try await queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM change_log WHERE type = 'sla.warning'") } == 1)
    }
}
