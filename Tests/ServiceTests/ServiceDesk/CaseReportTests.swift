import Foundation
import GRDB
import ServiceDeskService
import ServiceRuntime
import Testing
import TestSupport
import WireProtocol
internal import CRMAPI

/// CaseReport against a fixture whose every figure is worked out by hand below. Calendar: the
/// default, Monday to Friday 09:00-12:00 and 13:00-18:00 (Asia/Shanghai); complaints (high) have
/// 60 business minutes to first response and 480 to resolution; Monday is 23 November 2026.
@Suite("ServiceDesk reports")
struct CaseReportTests {
    typealias Desk = CaseDeskTests.Desk

    static func report(_ desk: Desk, kind: Crm_Servicedesk_V1_CaseKind = .unspecified) async throws -> Crm_Servicedesk_V1_CaseReportResponse {
        var request = Crm_Servicedesk_V1_CaseReportRequest()
        request.fromTime.milliseconds = CaseDeskTests.ms(23, 0)
        request.toTime.milliseconds = CaseDeskTests.ms(25, 0)
        request.kind = kind
        let finished = request
        return try await desk.write { desk, db in try CaseReport.run(finished, db) }
    }

    static func counts(_ list: [Crm_Servicedesk_V1_CountBy]) -> [String] { list.map { "\($0.key)=\($0.cases)" } }

    @Test("volumes, SLA compliance, resolution business hours, satisfaction and repeat complaints match the hand-worked fixture")
    func fixture() async throws {
        let desk = try Desk()
        try await desk.setPolicies([(.high, 0, 60, 480)])
        // Outside the window (Friday 20th): C2's other complaint, which must not make C2 a repeat complainant.
        desk.at(20, 10)
        _ = try await desk.open(customer: "C0000000002") { $0.category = "loans/mortgage" }

        // Case 1, C1, cards/fees by phone, opened Mon 09:00; work starts 09:30 (first response met, 30 of 60 min);
        // resolved 14:00 = 3 h + 1 h = 4 business hours (met); closed; rated 5 through the token.
        desk.at(23, 9)
        var case1 = try await desk.open(customer: "C0000000001")
        desk.at(23, 9, 30)
        case1 = try await desk.transition(try await desk.transition(case1, .assign, assignee: "ann"), .start)

        // Case 2, C1, cards/fraud in the app, branch SH-02, opened Mon 10:00; starts 11:30 (90 min: first response
        // breached); resolved Tue 11:00 = Mon 2 h + 5 h + Tue 2 h = 9 business hours (breached); rated 2 by case id.
        desk.at(23, 10)
        var case2 = try await desk.open(customer: "C0000000001") {
            ($0.category, $0.channel, $0.branchID) = ("cards/fraud", .app, "SH-02")
        }
        desk.at(23, 11, 30)
        case2 = try await desk.transition(try await desk.transition(case2, .assign, assignee: "bob"), .start)

        // Case 3, C2, loans/mortgage at the branch, opened Mon 13:00; starts 13:30 (met); waits on the customer
        // 14:00 until Tue 09:00; resolved Tue 12:00: the resolution clock counted 1 h + 3 h (met), the report's
        // resolution time is the calendar's 5 h + 3 h = 8 business hours; rated 4 by case id.
        desk.at(23, 13)
        var case3 = try await desk.open(customer: "C0000000002") { ($0.category, $0.channel) = ("loans/mortgage", .branch) }
        desk.at(23, 13, 30)
        case3 = try await desk.transition(try await desk.transition(case3, .assign, assignee: "cai"), .start)
        desk.at(23, 14)
        case3 = try await desk.transition(case3, .waitOnCustomer)

        desk.at(23, 14)
        case1 = try await desk.transition(case1, .resolve)
        desk.at(23, 14, 30)
        let closed = try await desk.transitionResponse(case1, .close)
        _ = try await CaseResolutionTests.satisfaction(desk, token: closed.satisfactionToken, score: 5)

        // Case 4, C1, cards/fees by phone, opened Mon 15:00 and left alone: first response due 16:00, breached
        // at the sweep; resolution 6 of 8 h counted by Tue 12:00, still running (undecided).
        desk.at(23, 15)
        _ = try await desk.open(customer: "C0000000001")

        // Case 5, C3, a service request (deposits/term, web), opened Mon 16:00, cancelled 16:30: undecided.
        desk.at(23, 16)
        let case5 = try await desk.open(customer: "C0000000003") {
            ($0.kind, $0.category, $0.channel) = (.serviceRequest, "deposits/term", .web)
        }
        desk.at(23, 16, 30)
        _ = try await desk.transition(case5, .cancel, reason: "customer withdrew")

        desk.at(24, 9)
        case3 = try await desk.transition(case3, .customerResponded)
        desk.at(24, 11)
        case2 = try await desk.transition(case2, .resolve)
        _ = try await CaseResolutionTests.satisfaction(desk, caseID: case2.id, score: 2)
        desk.at(24, 12)
        case3 = try await desk.transition(case3, .resolve)
        _ = try await CaseResolutionTests.satisfaction(desk, caseID: case3.id, score: 4)
        _ = try await desk.sweep()

        let report = try await Self.report(desk)
        #expect(report.cases == 5)
        #expect(Self.counts(report.byCategory) == ["cards/fees=2", "cards/fraud=1", "deposits/term=1", "loans/mortgage=1"])
        #expect(Self.counts(report.byTopCategory) == ["cards=3", "deposits=1", "loans=1"])
        #expect(Self.counts(report.byChannel) == ["phone=2", "app=1", "branch=1", "web=1"])
        #expect(Self.counts(report.byBranch) == ["BJ-01=4", "SH-02=1"])

        // First response: met 1 and 3, breached 2 and 4, undecided 5: 50.00%.
        #expect(report.sla[0].metric == .firstResponse)
        #expect([report.sla[0].met, report.sla[0].breached, report.sla[0].undecided, report.sla[0].complianceBasisPoints] == [2, 2, 1, 5_000])
        // Resolution: met 1 and 3, breached 2, undecided 4 and 5: 2 of 3 = 66.67%.
        #expect(report.sla[1].metric == .resolution)
        #expect([report.sla[1].met, report.sla[1].breached, report.sla[1].undecided, report.sla[1].complianceBasisPoints] == [2, 1, 2, 6_667])

        // Resolved 4 h, 9 h, 8 h: mean 7 h; nearest-rank p90 is the 3rd of 3: 9 h.
        #expect(report.resolved == 3)
        #expect(report.meanResolutionBusinessHours == 7)
        #expect(report.p90ResolutionBusinessHours == 9)

        #expect(report.satisfactionByCategory.map { "\($0.key)=\($0.responses)x\($0.meanScore)" } == [
            "cards/fees=1x5.0", "cards/fraud=1x2.0", "loans/mortgage=1x4.0",
        ])
        // Within the resolution SLA: 5 and 4 (4.5); breached: 2.
        #expect(report.satisfactionByTimeliness.map { "\($0.key)=\($0.responses)x\($0.meanScore)" } == ["breached=1x2.0", "met=2x4.5"])

        // C1 complained three times in the window; C2 once (the other was on the 20th).
        #expect(report.repeatComplainants.map { "\($0.customerID)=\($0.complaints)" } == ["C0000000001=3"])
        #expect(report.repeatComplainantsTotal == 1)

        let requests = try await Self.report(desk, kind: .serviceRequest)
        #expect(requests.cases == 1)
        #expect(Self.counts(requests.byChannel) == ["web=1"])
        #expect(requests.repeatComplainants.isEmpty)
    }

    @Test("a window must run forwards and span at most 366 days")
    func window() async throws {
        let desk = try Desk()
        var request = Crm_Servicedesk_V1_CaseReportRequest()
        request.fromTime.milliseconds = 1_000
        request.toTime.milliseconds = 1_000
        let backwards = request
        let refused = await #expect(throws: RPCError.self) { _ = try await desk.write { desk, db in try CaseReport.run(backwards, db) } }
        #expect(refused?.fieldViolations.map(\.field) == ["toTime"])
        request.toTime.milliseconds = request.fromTime.milliseconds + 367 * 86_400_000
        let long = request
        let tooLong = await #expect(throws: RPCError.self) { _ = try await desk.write { desk, db in try CaseReport.run(long, db) } }
        #expect(tooLong?.fieldViolations.map(\.field) == ["toTime"])
        request.toTime.milliseconds = request.fromTime.milliseconds + 86_400_000
        let empty = request
        let report = try await desk.write { desk, db in try CaseReport.run(empty, db) }
        #expect(report.cases == 0 && report.sla.map(\.complianceBasisPoints) == [0, 0] && report.resolved == 0)
    }
}
