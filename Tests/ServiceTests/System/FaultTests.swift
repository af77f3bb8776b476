import Foundation
import GRDB
import NIOCore
import ServiceRuntime
import Synchronization
import TestSupport
import Testing
import WireProtocol

#if canImport(Glibc)
import Glibc
internal import CRMAPI
internal import RPCTransport
#endif

/// The whole system under faults: servers killed in the middle of traffic, a backend gone, a backend
/// that stops answering.
@Suite("System faults", .serialized)
struct FaultTests {
    /// What the load acknowledged.
    final class Acknowledged: Sendable {
        let customers = Mutex<[String]>([])
        let cases = Mutex<[String]>([])
        let stopped = Atomic(false)
    }

    static func count(_ system: CRMSystem, _ server: CRMSystem.Server, _ sql: String) async throws -> Int {
        try await system.read(server) { db in try Int.fetchOne(db, sql: sql) ?? -1 }
    }

    @Test("each server SIGKILLed at random moments under traffic, five times, and restarted: every restart comes up, no acknowledged write lost, every event applied once, every database intact")
    func killEachServer() async throws {
        let system = try await CRMSystem.start()
        let client = system.client()
        let acknowledged = Acknowledged()
        // Two workers create customers; one opens a complaint for each customer a moment after it was acknowledged.
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<2 {
                    group.addTask {
                        var index = 0
                        while !acknowledged.stopped.load(ordering: .relaxed) {
                            index += 1
                            var request = Crm_Customer_V1_CreateCustomerRequest()
                            request.profile.kind = .individual
                            request.profile.individual.nameLatin = "Fault Person \(worker) \(index)"
                            request.profile.branchID = "BJ-01"
                            if let created = try? await client.unary(CustomerMethods.create, request, timeout: .seconds(10)) {
                                acknowledged.customers.withLock { $0.append(created.customer.id) }
                            }
                        }
                    }
                }
                group.addTask {
                    var next = 0
                    while !acknowledged.stopped.load(ordering: .relaxed) {
                        guard let customer = acknowledged.customers.withLock({ next < $0.count ? $0[next] : nil }) else {
                            try? await Task.sleep(for: .milliseconds(50))
                            continue
                        }
                        var open = Crm_Servicedesk_V1_OpenCaseRequest()
                        (open.kind, open.category, open.channel, open.priority) = (.complaint, "cards/fees", .phone, .high)
                        (open.customerID, open.subject, open.queue) = (customer, "fault journey", "complaints")
                        if let opened = try? await client.unary(ServiceDeskMethods.openCase, open, timeout: .seconds(10)) {
                            acknowledged.cases.withLock { $0.append(opened.case.id) }
                            next += 1
                        } else {
                            try? await Task.sleep(for: .milliseconds(100))  // the mirror may not have it yet
                        }
                    }
                }
            }
        }

        // A round kills each server once, at a random moment from just after it became ready to
        // 1.5 s later, and restarts it at once; every restart must come up (``CRMSystem/start(_:)``
        // fails the test otherwise). Five rounds here; CRM_SYSTEM_KILL_ROUNDS asks for more (a soak: 50).
        let rounds = Int(ProcessInfo.processInfo.environment["CRM_SYSTEM_KILL_ROUNDS"] ?? "") ?? 5
        var restarts = 0
        for _ in 0..<rounds {
            for server in CRMSystem.Server.allCases {
                try await Task.sleep(for: .milliseconds(Int.random(in: 20...1_500)))
                await system.kill(server)
                try await system.start(server)
                restarts += 1
            }
        }
        #expect(restarts == rounds * CRMSystem.Server.allCases.count)
        // The load goes on for 2 s after the last restart, and longer (up to 60 s) until it has
        // 20 customers and 5 cases acknowledged: on a loaded host (a full test run's peak) the
        // writes around the kills come slowly, and 16 were all one run got in the first 2 s.
        let settled = ContinuousClock.now + .seconds(2)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let enough = acknowledged.customers.withLock { $0.count } >= 20 && acknowledged.cases.withLock { $0.count } >= 5
            if enough, ContinuousClock.now >= settled { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        acknowledged.stopped.store(true, ordering: .relaxed)
        await load.value
        let customers = acknowledged.customers.withLock { $0 }
        let cases = acknowledged.cases.withLock { $0 }
        #expect(customers.count >= 20 && cases.count >= 5, "the load ran through the kills: \(customers.count) customers, \(cases.count) cases")

        // Every acknowledged write is in its database.
        let customerKeys = try await Self.count(system, .customer, "SELECT count(*) FROM customer")
        #expect(customerKeys >= customers.count)
        for id in customers {
            #expect(try await Self.count(system, .customer, "SELECT count(*) FROM customer WHERE key = \(Int(id.dropFirst())!)") == 1, "\(id) lost")
        }
        for id in cases {
            #expect(try await Self.count(system, .servicedesk, "SELECT count(*) FROM service_case WHERE key = \(Int(id.dropFirst())!)") == 1, "\(id) lost")
        }
        // Every event reached every consumer once: the mirrors hold every customer and case, and the
        // customer service wrote exactly one contact-history entry per case opened.
        let caseRows = try await Self.count(system, .servicedesk, "SELECT count(*) FROM service_case")
        let converged = await eventually(seconds: 60) {
            let deskMirror = try? await Self.count(system, .servicedesk, "SELECT count(*) FROM customer_mirror")
            let marketingMirror = try? await Self.count(system, .marketing, "SELECT count(*) FROM customer_mirror")
            let marketingCases = try? await Self.count(system, .marketing, "SELECT count(*) FROM case_mirror")
            let contacts = try? await Self.count(system, .customer, "SELECT count(*) FROM interaction WHERE source LIKE 'servicedesk:%:opened'")
            return deskMirror == customerKeys && marketingMirror == customerKeys && marketingCases == caseRows && contacts == caseRows
        }
        #expect(converged, "mirrors and contact history caught up with \(customerKeys) customers and \(caseRows) cases")
        for server in [CRMSystem.Server.customer, .servicedesk, .marketing] {
            #expect(try await system.integrity(server) == ["ok"], "\(server)")
        }
        await client.close()
        await system.expectCleanShutdown()
    }

    @Test("a backend down gives UNAVAILABLE promptly and comes back on its own; a backend that stops answering trips the caller's deadline while the others are served")
    func backendDownAndStalled() async throws {
        let system = try await CRMSystem.start()
        let options = RPCConnection.Options(tls: system.pki.clientCertificate("client"), serverHostname: "localhost", connectTimeout: TestTimeouts.connect)
        let connection = try await RPCConnection.connect(host: "127.0.0.1", port: system.ports[.gateway]!, options: options)
        let list: Crm_Servicedesk_V1_ListCasesRequest = try JourneyTests.json(#"{"queue": "complaints"}"#)
        _ = try await connection.unary(ServiceDeskMethods.listCases, list)

        // Down: the gateway answers UNAVAILABLE at once, without waiting for the deadline.
        await system.kill(.servicedesk)
        let started = ContinuousClock.now
        do {
            _ = try await connection.unary(ServiceDeskMethods.listCases, list, timeout: .seconds(20))
            Issue.record("a call to a dead backend must fail")
        } catch let error as RPCError {
            #expect(error.code == .unavailable, "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(10), "promptly, not at the 20 s deadline")
        try await system.start(.servicedesk)
        #expect(await eventually(seconds: 30) { (try? await connection.unary(ServiceDeskMethods.listCases, list)) != nil }, "back on its own")

        // Stalled (SIGSTOP): the caller's deadline trips; the gateway goes on serving the other services.
        let marketing = try #require(system.process(.marketing))
        let pid = marketing.process.processIdentifier
        kill(pid, SIGSTOP)
        // A stop reaches each thread of the process in turn: one that is running on the other core
        // can still answer a call meanwhile. Wait until every thread shows as stopped.
        #expect(await eventually(seconds: 10) { Self.allThreadsStopped(pid) }, "marketing stopped")
        let get: Crm_Marketing_V1_GetOpportunityRequest = try JourneyTests.json(#"{"id": "O0000000001"}"#)
        let stalledAt = ContinuousClock.now
        do {
            _ = try await connection.unary(MarketingMethods.getOpportunity, get, timeout: .seconds(1))
            Issue.record("a call to a stopped backend must fail")
        } catch let error as RPCError {
            #expect([.deadlineExceeded, .unavailable].contains(error.code), "\(error)")
        }
        #expect(ContinuousClock.now - stalledAt < .seconds(10))
        _ = try await connection.unary(SystemMethods.health, Crm_System_V1_HealthRequest())
        _ = try await connection.unary(ServiceDeskMethods.listCases, list)
        kill(marketing.process.processIdentifier, SIGCONT)
        #expect(await eventually(seconds: 30) {
            do {
                _ = try await connection.unary(MarketingMethods.getOpportunity, get, timeout: .seconds(2))
                return true
            } catch let error as RPCError {
                return error.code == .notFound  // answered: there is no such opportunity
            } catch {
                return false
            }
        }, "marketing answers again once it runs")
        await connection.close()
        await system.expectCleanShutdown()
    }

    /// Whether every thread of the process is in the stopped state ('T' in /proc/PID/task/TID/stat).
    static func allThreadsStopped(_ pid: Int32) -> Bool {
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task"), !threads.isEmpty else { return false }
        return threads.allSatisfy { thread in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            // The state is the first field after the command name, which is in parentheses.
            return stat[stat.index(after: close)...].split(separator: " ").first == "T"
        }
    }
}
