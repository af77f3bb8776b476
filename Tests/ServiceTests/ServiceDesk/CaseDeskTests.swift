import Foundation
import GRDB
import Logging
import ServiceDeskService
import ServiceRuntime
import SwiftProtobuf
import Testing
import TestSupport
import WireProtocol
internal import CRMAPI

/// ServiceDesk's rules against a real SQLite file, with an injected clock. Calendar: the default
/// (Monday to Friday 09:00-12:00 and 13:00-18:00, Asia/Shanghai); Monday 23 November 2026 onwards.
@Suite("ServiceDesk cases and SLA clocks")
struct CaseDeskTests {
    /// A ServiceDesk database in a temporary folder; `reopen()` opens the same file again, as a
    /// restarted process would.
    final class Desk: Sendable {
        let folder: URL
        let clock = Recorder(SLAClockTests.at(23, 9))
        let store: Recorder<Store?> = Recorder(nil)

        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("servicedesk-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try reopen()
        }

        deinit { try? FileManager.default.removeItem(at: folder) }

        func reopen() throws {
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let opened = try Store(
                configuration: .init(path: folder.appendingPathComponent("servicedesk.sqlite").path), migrator: ServiceDeskSchema.migrator,
                logger: logger)
            store.update { $0 = opened }
        }

        var desk: CaseDesk {
            let clock = self.clock
            return CaseDesk(now: { clock.value })
        }

        func at(_ day: Int, _ hour: Int, _ minute: Int = 0) { clock.update { $0 = SLAClockTests.at(day, hour, minute) } }

        func write<T: Sendable>(_ body: @escaping @Sendable (CaseDesk, Database) throws -> T) async throws -> T {
            let desk = self.desk
            return try await store.value!.pool.write { db in try body(desk, db) }
        }

        /// A customer feed event applied to the mirror, as the feed consumer would.
        @discardableResult
        func customerChanged(
            _ id: String, type: String = "customer.updated", grade: UInt32 = 3, status: Crm_Customer_V1_CustomerStatus = .active,
            branch: String = "BJ-01", mergedInto: String = ""
        ) async throws -> Crm_Feed_V1_ChangeEvent {
            var customer = Crm_Customer_V1_CustomerChanged()
            (customer.id, customer.status, customer.valueGrade, customer.branchID, customer.mergedIntoID) = (id, status, grade, branch, mergedInto)
            var event = Crm_Feed_V1_ChangeEvent()
            (event.type, event.entityKey, event.payload) = (type, id, try customer.serializedBytes())
            let finished = event
            try await write { desk, db in try CustomerMirror(desk: desk).apply(finished, db) }
            return finished
        }

        /// Opens a case; a customer not mirrored yet is mirrored first with `grade`.
        func open(
            grade: UInt32 = 3, customer: String = "C0000000001", _ configure: @Sendable (inout Crm_Servicedesk_V1_OpenCaseRequest) -> Void = { _ in }
        ) async throws -> Crm_Servicedesk_V1_Case {
            let known = try await store.value!.pool.read { db in
                try Bool.fetchOne(db, sql: "SELECT 1 FROM customer_mirror WHERE customer_id = ?", arguments: [customer]) ?? false
            }
            if !known { try await customerChanged(customer, type: "customer.created", grade: grade) }
            var request = Crm_Servicedesk_V1_OpenCaseRequest()
            request.kind = .complaint
            request.category = "cards/fees"
            request.channel = .phone
            request.priority = .high
            request.customerID = customer
            request.subject = "annual fee charged twice"
            request.queue = "complaints-north"
            configure(&request)
            let finished = request
            return try await write { desk, db in try desk.open(finished, actor: "contact-centre/agent-7", db) }.case
        }

        /// Makes the transition; RESOLVE carries a resolution (`reason` as its root cause).
        func transition(
            _ found: Crm_Servicedesk_V1_Case, _ event: Crm_Servicedesk_V1_CaseEvent, reason: String = "", assignee: String = "",
            _ configure: @Sendable (inout Crm_Servicedesk_V1_TransitionCaseRequest) -> Void = { _ in }
        ) async throws -> Crm_Servicedesk_V1_Case {
            try await transitionResponse(found, event, reason: reason, assignee: assignee, configure).case
        }

        func transitionResponse(
            _ found: Crm_Servicedesk_V1_Case, _ event: Crm_Servicedesk_V1_CaseEvent, reason: String = "", assignee: String = "",
            _ configure: @Sendable (inout Crm_Servicedesk_V1_TransitionCaseRequest) -> Void = { _ in }
        ) async throws -> Crm_Servicedesk_V1_TransitionCaseResponse {
            var request = Crm_Servicedesk_V1_TransitionCaseRequest()
            request.id = found.id
            request.expectedVersion = found.version
            request.event = event
            request.reason = reason
            request.assignee = assignee
            if event == .resolve {
                request.resolution.rootCause = reason.isEmpty ? "fee charged twice by the card system" : reason
                request.resolution.resolutionCode = "fee-refunded"
            }
            configure(&request)
            let finished = request
            return try await write { desk, db in try desk.transition(finished, actor: "crm-ops/agent-9", db) }
        }

        func sweep() async throws -> CaseDesk.SweepResult {
            try await SLASweeper.sweepAll(store: store.value!, desk: desk)
        }

        func events(_ type: String) async throws -> Int {
            try await store.value!.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM change_log WHERE type = ?", arguments: [type]) ?? 0 }
        }

        func setPolicies(_ policies: [(Crm_Servicedesk_V1_CasePriority, UInt32, UInt32, UInt32)]) async throws {
            var request = Crm_Servicedesk_V1_SetSlaPoliciesRequest()
            request.policies = policies.map { priority, grade, first, resolution in
                var policy = Crm_Servicedesk_V1_SlaPolicy()
                policy.kind = .complaint
                policy.priority = priority
                policy.valueGrade = grade
                policy.firstResponseMinutes = first
                policy.resolutionMinutes = resolution
                policy.warningPercent = 75
                return policy
            }
            let finished = request
            _ = try await write { desk, db in
                var request = finished
                request.expectedVersion = try SettingsHistory.currentVersion(of: "sla_policies", db)
                return try desk.setPolicies(request, actor: "test", db)
            }
        }
    }

    static func ms(_ day: Int, _ hour: Int, _ minute: Int = 0, month: Int = 11) -> Int64 {
        Int64(SLAClockTests.at(day, hour, minute, month: month).timeIntervalSince1970 * 1000)
    }

    @Test("a case opens with both clocks targeted by its policy, and publishes case.opened")
    func open() async throws {
        let desk = try Desk()
        try await desk.setPolicies([(.high, 0, 60, 480)])
        let found = try await desk.open()
        #expect(found.id == "K0000000001")
        #expect(found.status == .new)
        #expect(found.slas.map(\.metric) == [.firstResponse, .resolution])
        // First response in 1 business hour from Monday 09:00; resolution 8 h: Monday 18:00.
        #expect(found.slas[0].dueAt.milliseconds == Self.ms(23, 10))
        #expect(found.slas[1].dueAt.milliseconds == Self.ms(23, 18))
        #expect(found.slas[1].warningAt.milliseconds == Self.ms(23, 16))  // 75% of 8 h = 6 h: 09-12, 13-16
        #expect(try await desk.events("case.opened") == 1)
    }

    @Test("every valid transition is recorded with who and why; an invalid one is refused naming the allowed")
    func transitions() async throws {
        let desk = try Desk()
        var found = try await desk.open()
        let refused = await #expect(throws: RPCError.self) { _ = try await desk.transition(found, .resolve) }
        #expect(refused?.code == .failedPrecondition)
        #expect(refused?.reason == "INVALID_TRANSITION")
        #expect(refused?.details["allowed"] == "assign,cancel")
        found = try await desk.transition(found, .assign, assignee: "agent-9")
        found = try await desk.transition(found, .start)
        found = try await desk.transition(found, .resolve, reason: "fee refunded")
        found = try await desk.transition(found, .close)
        #expect(found.status == .closed)
        let stale = await #expect(throws: RPCError.self) {
            var old = found
            old.version -= 1
            _ = try await desk.transition(old, .reopen, reason: "again")
        }
        #expect(stale?.code == .aborted)
        let history = try await desk.write { desk, db in
            var request = Crm_Servicedesk_V1_GetCaseRequest()
            request.id = "K0000000001"
            return try desk.get(request, db).history
        }
        #expect(history.map(\.to) == [.new, .assigned, .inProgress, .resolved, .closed])
        #expect(history[1].assignee == "agent-9")
        #expect(history[3].reason == "fee refunded")
        #expect(history.allSatisfy { $0.actor.hasSuffix("/agent-7") || $0.actor == "crm-ops/agent-9" })
        #expect(try await desk.events("case.transitioned") == 4)
        // The first response was given at start, the resolution at resolve: both met.
        #expect(found.slas.map(\.state) == [.met, .met])
    }

    @Test("warning and breach fire once each, also after the database is opened again as on a restart")
    func firesOnceAcrossRestart() async throws {
        let desk = try Desk()
        try await desk.setPolicies([(.high, 0, 60, 480)])
        _ = try await desk.open()
        desk.at(23, 9, 50)  // first response warning (75% of 60 min = 45 min) due 09:45
        #expect(try await desk.sweep() == .init(checked: 1, warnings: 1, breaches: 0))
        #expect(try await desk.sweep().warnings == 0)
        try desk.reopen()
        #expect(try await desk.sweep() == .init(checked: 0, warnings: 0, breaches: 0))
        desk.at(23, 16, 30)  // first response due 10:00 (breach), resolution warning due 16:00
        #expect(try await desk.sweep() == .init(checked: 2, warnings: 1, breaches: 1))
        try desk.reopen()
        desk.at(24, 12)  // resolution due Monday 18:00: breach
        #expect(try await desk.sweep() == .init(checked: 1, warnings: 0, breaches: 1))
        desk.at(30, 12)
        #expect(try await desk.sweep().checked == 0)
        #expect(try await desk.events("sla.warning") == 2)
        #expect(try await desk.events("sla.breached") == 2)
        let found = try await desk.write { desk, db in
            var request = Crm_Servicedesk_V1_GetCaseRequest()
            request.id = "K0000000001"
            return try desk.get(request, db).case
        }
        #expect(found.escalationLevel == 2)
        #expect(found.slas.map(\.state) == [.breached, .breached])
        let versions = try await feedVersions(desk.store.value!, as: Crm_Servicedesk_V1_CaseChanged.self) { $0.case.version }
        #expect(versions["K0000000001"]?.count == 5, "opened, two warnings, two breaches")
        expectIncreasing(versions)

        // What the admin listener shows an operator.
        let metrics = String(decoding: await ServerMetrics(server: "crm-servicedesk", version: "test", databaseGauges: SLAMetrics.gauges).scrape(desk.store.value!), as: UTF8.self)
        for metric in ["first_response", "resolution"] {
            #expect(metrics.contains(#"crm_sla_warnings_fired{metric="\#(metric)"} 1.0"#), "\(metrics)")
            #expect(metrics.contains(#"crm_sla_breaches_fired{metric="\#(metric)"} 1.0"#))
            #expect(metrics.contains(#"crm_sla_clocks_open{metric="\#(metric)",state="breached"} 1.0"#))
        }
    }

    @Test("a breach no sweep has fired yet fires when the clock stops, once; a zero target breaches at opening")
    func breachAtStop() async throws {
        let desk = try Desk()
        try await desk.setPolicies([(.high, 0, 60, 480), (.urgent, 0, 0, 480)])
        var found = try await desk.transition(try await desk.open(), .assign, assignee: "agent-9")
        desk.at(23, 10, 30)  // first response was due 10:00; no sweep since
        found = try await desk.transition(found, .start)
        #expect(found.slas[0].state == .breached)
        #expect(found.escalationLevel == 1)
        #expect(try await desk.events("sla.breached") == 1)
        #expect(try await desk.sweep().breaches == 0)
        #expect(try await desk.events("sla.breached") == 1)

        let urgent = try await desk.open(customer: "C0000000002") { $0.priority = .urgent }
        #expect(urgent.slas[0].state == .breached)
        #expect(urgent.escalationLevel == 1)
        #expect(try await desk.events("sla.breached") == 2)
        #expect(try await desk.sweep().breaches == 0)
    }

    @Test("waiting on the customer pauses the resolution clock; the pause is not counted")
    func pauseWhileWaiting() async throws {
        let desk = try Desk()
        try await desk.setPolicies([(.high, 0, 60, 480)])
        var found = try await desk.open()
        found = try await desk.transition(found, .assign, assignee: "agent-9")
        desk.at(23, 9, 30)
        found = try await desk.transition(found, .start)
        desk.at(23, 11)  // 2 h of resolution counted
        found = try await desk.transition(found, .waitOnCustomer, reason: "asked for the statement")
        #expect(found.slas[1].state == .paused)
        #expect(found.slas[1].dueAt.milliseconds == 0)
        desk.at(25, 9)
        #expect(try await desk.sweep().checked == 0, "a paused clock is not even looked at")
        desk.at(24, 14)
        found = try await desk.transition(found, .customerResponded)
        // 6 h left from Tuesday 14:00: 14-18, then Wednesday 09-11.
        #expect(found.slas[1].dueAt.milliseconds == Self.ms(25, 11))
        #expect(found.slas[1].pauseCount == 1)
    }

    @Test("a customer's new value grade, from the customer feed, re-targets the open case, keeping the time counted")
    func gradeChange() async throws {
        let desk = try Desk()
        // Grade 1 customers: resolution in 4 h; everyone else 16 h.
        try await desk.setPolicies([(.high, 0, 120, 960), (.high, 1, 60, 240)])
        var found = try await desk.open(grade: 3)
        #expect(found.slas[1].dueAt.milliseconds == Self.ms(24, 18))
        desk.at(23, 11)
        try await desk.customerChanged("C0000000001", grade: 1)
        found = try await desk.write { desk, db in
            var request = Crm_Servicedesk_V1_GetCaseRequest()
            request.id = "K0000000001"
            return try desk.get(request, db).case
        }
        #expect(found.customerValueGrade == 1)
        #expect(found.slas[1].targetMinutes == 240)
        #expect(found.slas[1].dueAt.milliseconds == Self.ms(23, 14))  // 09-12 (3 h) and 13-14
        #expect(try await desk.events("case.retargeted") == 1)
        expectIncreasing(try await feedVersions(desk.store.value!, as: Crm_Servicedesk_V1_CaseChanged.self) { $0.case.version })
    }

    @Test("a holiday set in the calendar moves the due time of an open case")
    func calendarChange() async throws {
        let desk = try Desk()
        try await desk.setPolicies([(.high, 0, 60, 480)])
        desk.at(27, 17)  // Friday 17:00: 1 h today, 7 h Monday (09-12, 13-17)
        let found = try await desk.open()
        #expect(found.slas[1].dueAt.milliseconds == Self.ms(30, 17))
        var calendar = Crm_Servicedesk_V1_SetBusinessCalendarRequest()
        calendar.timeZone = "Asia/Shanghai"
        calendar.days = (2...6).map { weekday in
            var day = Crm_Servicedesk_V1_WorkingDay()
            day.weekday = UInt32(weekday)
            day.shifts = [(540, 720), (780, 1080)].map { start, end in
                var shift = Crm_Servicedesk_V1_WorkingShift()
                shift.startMinute = UInt32(start)
                shift.endMinute = UInt32(end)
                return shift
            }
            return day
        }
        calendar.holidays = ["2026-11-30"]
        let finished = calendar
        _ = try await desk.write { desk, db in try desk.setCalendar(finished, db) }
        let moved = try await desk.write { desk, db in
            var request = Crm_Servicedesk_V1_GetCaseRequest()
            request.id = found.id
            return try desk.get(request, db).case
        }
        #expect(moved.slas[1].dueAt.milliseconds == Self.ms(1, 17, month: 12))
        // A bad calendar is refused naming the field.
        calendar.holidays = ["2026-13-01"]
        let bad = calendar
        let error = await #expect(throws: RPCError.self) { _ = try await desk.write { desk, db in try desk.setCalendar(bad, db) } }
        #expect(error?.fieldViolations.first?.field == "holidays[0]")
    }

    @Test("a branch's own calendar (its time zone and hours) counts its cases' clocks; other branches keep the default")
    func branchCalendar() async throws {
        let desk = try Desk()
        try await desk.setPolicies([(.high, 0, 60, 480)])
        // London: Monday to Friday 09:00-17:00, Europe/London (UTC+0 in November, Shanghai is UTC+8).
        var london = Crm_Servicedesk_V1_SetBusinessCalendarRequest()
        london.branchID = "LDN-01"
        london.timeZone = "Europe/London"
        london.days = (2...6).map { weekday in
            var day = Crm_Servicedesk_V1_WorkingDay()
            day.weekday = UInt32(weekday)
            var shift = Crm_Servicedesk_V1_WorkingShift()
            (shift.startMinute, shift.endMinute) = (540, 1020)
            day.shifts = [shift]
            return day
        }
        let finished = london
        _ = try await desk.write { desk, db in try desk.setCalendar(finished, db) }

        // Monday 09:00 in Shanghai is 01:00 in London: the London clock starts at 09:00 London, 17:00 Shanghai.
        let inLondon = try await desk.open { $0.branchID = "LDN-01" }
        #expect(inLondon.slas[0].dueAt.milliseconds == Self.ms(23, 18))  // 10:00 London
        #expect(inLondon.slas[1].dueAt.milliseconds == Self.ms(24, 1))  // 17:00 London: 8 h
        let inBeijing = try await desk.open()
        #expect(inBeijing.branchID == "BJ-01")
        #expect(inBeijing.slas[0].dueAt.milliseconds == Self.ms(23, 10))

        // A new default calendar (Monday a holiday) moves Beijing's clocks, not London's.
        var standard = london
        (standard.branchID, standard.timeZone, standard.holidays) = ("", "Asia/Shanghai", ["2026-11-23"])
        let holiday = standard
        _ = try await desk.write { desk, db in try desk.setCalendar(holiday, db) }
        let cases = try await desk.write { desk, db in
            try [inLondon.id, inBeijing.id].map { id in
                var request = Crm_Servicedesk_V1_GetCaseRequest()
                request.id = id
                return try desk.get(request, db).case
            }
        }
        #expect(cases[0].slas[0].dueAt.milliseconds == Self.ms(23, 18))
        #expect(cases[1].slas[0].dueAt.milliseconds == Self.ms(24, 10))  // Tuesday 09:00-10:00 in Shanghai
    }

    @Test("a queue lists its open cases oldest first, page by page")
    func queue() async throws {
        let desk = try Desk()
        for index in 0..<5 { _ = try await desk.open(customer: "C000000000\(index)") }
        var request = Crm_Servicedesk_V1_ListCasesRequest()
        request.queue = "complaints-north"
        request.pageSize = 3
        let first = request
        let page = try await desk.write { desk, db in try desk.list(first, db) }
        #expect(page.cases.map(\.id) == ["K0000000001", "K0000000002", "K0000000003"])
        request.pageToken = page.nextPageToken
        let second = request
        let rest = try await desk.write { desk, db in try desk.list(second, db) }
        #expect(rest.cases.map(\.id) == ["K0000000004", "K0000000005"])
        #expect(rest.nextPageToken.isEmpty)
    }
}
