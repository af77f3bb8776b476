import Foundation
import GRDB
import MarketingService
import ServiceRuntime
import SwiftProtobuf
import Testing
import TestSupport
import WireProtocol
internal import CRMAPI

/// RM tasks and the relationship event generator, with an injected clock (10:00 in Shanghai on the
/// days named) and customers as the customer feed brings them.
@Suite("Marketing tasks and relationship events")
struct RelationshipTaskTests {
    typealias Market = PipelineTests.Market

    static func generate(_ market: Market, store: Store? = nil) async throws -> Crm_Marketing_V1_GenerateRelationshipEventsResponse {
        let tasks = TaskBook(pipeline: market.pipeline)
        return try await (store ?? market.store).pool.write { db in try tasks.generate(db) }
    }

    static func tasks(_ market: Market, owner: String = "RM001", overdueOnly: Bool = false) async throws -> [Crm_Marketing_V1_RmTask] {
        var request = Crm_Marketing_V1_ListTasksRequest()
        (request.ownerRmID, request.overdueOnly, request.pageSize) = (owner, overdueOnly, 500)
        let finished = request
        let tasks = TaskBook(pipeline: market.pipeline)
        return try await market.store.pool.read { db in try tasks.list(finished, db) }.tasks
    }

    static func born(_ market: Market, _ id: String, _ birthDate: String, status: Crm_Customer_V1_CustomerStatus = .active) async throws {
        try await market.customer(id, status: status) { $0.birthDate = birthDate }
    }

    @Test("birthday tasks 7 days ahead: 29 February falls on 28 February in other years and on itself in leap years; year ends; each once")
    func birthdays() async throws {
        let market = try Market()
        try await Self.born(market, "C0000000001", "1992-02-29")
        try await Self.born(market, "C0000000002", "1985-01-03")
        try await Self.born(market, "C0000000003", "1980-03-01")
        try await Self.born(market, "C0000000004", "1975-12-30")
        try await Self.born(market, "C0000000005", "1970-12-29", status: .inactive)  // not greeted
        try await market.customer("C0000000006")  // no birth date

        // Monday 22 February 2027 (not a leap year): the window runs to 1 March.
        market.at(2027, 2, 22)
        var made = try await Self.generate(market)
        #expect(made.today == "2027-02-22" && made.birthdayTasks == 2)
        #expect(try await Self.generate(market).birthdayTasks == 0)
        var tasks = try await Self.tasks(market)
        #expect(tasks.map { "\($0.customerID) \($0.occurrence) \($0.dueDate)" } == [
            "C0000000001 2027-02-28 2027-02-28", "C0000000003 2027-03-01 2027-03-01",
        ])
        #expect(tasks.allSatisfy { $0.kind == .birthday && $0.status == .open && $0.title == "Birthday greeting" })

        // 2028 is a leap year: 29 February itself; 1 March is 8 days from 22 February, so it waits a day.
        market.at(2028, 2, 22)
        made = try await Self.generate(market)
        #expect(made.birthdayTasks == 1)
        market.at(2028, 2, 23)
        #expect(try await Self.generate(market).birthdayTasks == 1)
        tasks = try await Self.tasks(market)
        #expect(tasks.suffix(2).map { "\($0.customerID) \($0.occurrence)" } == ["C0000000001 2028-02-29", "C0000000003 2028-03-01"])

        // Across the year end: from 28 December 2028 the window reaches 4 January 2029.
        market.at(2028, 12, 28)
        #expect(try await Self.generate(market).birthdayTasks == 2)
        tasks = try await Self.tasks(market)
        #expect(tasks.suffix(2).map { "\($0.customerID) \($0.occurrence)" } == ["C0000000004 2028-12-30", "C0000000002 2029-01-03"])
        #expect(try await market.events("task.created") == 6)
    }

    @Test("generation is exactly once across a restart: the same database opened again makes nothing new")
    func onceAcrossRestart() async throws {
        let market = try Market()
        try await Self.born(market, "C0000000001", "1990-06-15")
        market.at(2027, 6, 10)
        #expect(try await Self.generate(market).birthdayTasks == 1)
        let restarted = try Market.open(market.folder)
        #expect(try await Self.generate(market, store: restarted).birthdayTasks == 0)
        market.at(2027, 6, 15)
        #expect(try await Self.generate(market, store: restarted).birthdayTasks == 0)
        let count = try await restarted.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM rm_task") }
        #expect(count == 1)
    }

    @Test("a customer that becomes dormant gets one reactivation task per dormant spell")
    func dormant() async throws {
        let market = try Market()
        market.at(2027, 3, 1)
        try await market.customer("C0000000001") { $0.lifecycleStage = .mature }
        #expect(try await Self.generate(market).reactivationTasks == 0)
        market.at(2027, 3, 2)
        try await market.customer("C0000000001", type: "customer.updated") { $0.lifecycleStage = .dormant }
        market.at(2027, 3, 5)
        try await market.customer("C0000000001", type: "customer.updated") { $0.lifecycleStage = .dormant }  // still the same spell
        #expect(try await Self.generate(market).reactivationTasks == 1)
        #expect(try await Self.generate(market).reactivationTasks == 0)
        market.at(2027, 4, 1)
        try await market.customer("C0000000001", type: "customer.updated") { $0.lifecycleStage = .growing }
        market.at(2027, 9, 1)
        try await market.customer("C0000000001", type: "customer.updated") { $0.lifecycleStage = .dormant }
        #expect(try await Self.generate(market).reactivationTasks == 1)
        let tasks = try await Self.tasks(market)
        #expect(tasks.map { "\($0.kind == .dormantReactivation) \($0.occurrence) \($0.dueDate)" } == [
            "true 2027-03-02 2027-03-12", "true 2027-09-01 2027-09-08",
        ])
    }

    @Test("early warnings from the feeds: assets down 30% from the window's highest, a credit grade cut, a second complaint within 90 days")
    func earlyWarnings() async throws {
        let market = try Market()
        func assets(_ amount: Int64, credit: String = "AA") async throws {
            try await market.customer("C0000000001", type: "customer.updated") { ($0.reportingAssetsMinor, $0.creditGrade) = (amount, credit) }
        }
        market.at(2027, 3, 1)
        try await assets(1_000_000)
        market.at(2027, 3, 10)
        try await assets(800_000)  // 20% down: no warning
        market.at(2027, 3, 20)
        try await assets(650_000)  // 35% below the 1,000,000 of 1 March
        try await assets(600_000)  // the same day: the warning is made once
        market.at(2027, 4, 25)
        try await assets(590_000)  // the window (30 days) no longer holds March's highs
        market.at(2027, 4, 26)
        try await assets(590_000, credit: "A")  // cut from AA
        market.at(2027, 4, 27)
        try await assets(590_000, credit: "AA")  // raised: nothing
        try await assets(590_000, credit: "ZZ")  // not on the scale: nothing

        func complaint(_ id: String, kind: Crm_Servicedesk_V1_CaseKind = .complaint) async throws {
            var found = Crm_Servicedesk_V1_Case()
            (found.id, found.customerID, found.kind, found.status) = (id, "C0000000001", kind, .new)
            found.openedAt.milliseconds = Int64(market.clock.value.timeIntervalSince1970 * 1000)
            var payload = Crm_Servicedesk_V1_CaseChanged()
            payload.case = found
            var event = Crm_Feed_V1_ChangeEvent()
            (event.type, event.entityKey, event.payload) = ("case.opened", id, try payload.serializedBytes())
            let finished = event
            try await market.write { pipeline, db in try MarketingMirror(pipeline: pipeline).applyCase(finished, db) }
        }
        try await complaint("K0000000001")
        market.at(2027, 5, 1)
        try await complaint("K0000000002", kind: .serviceRequest)  // not a complaint
        market.at(2027, 6, 1)
        try await complaint("K0000000003")  // the second complaint within 90 days

        let warnings = try await Self.tasks(market).filter { $0.kind == .earlyWarning }
        #expect(warnings.map { "\($0.dueDate) \($0.reason)" } == [
            "2027-03-20 assets down 35% within 30 days: 1000000 -> 650000 fen",
            "2027-04-26 credit grade cut from AA to A",
            "2027-06-01 2 complaints within 90 days",
        ])
        #expect(warnings.allSatisfy { $0.ownerRmID == "RM001" && $0.title == "Early warning" })

        var rules = Crm_Marketing_V1_SetEventRulesRequest()
        (rules.balanceDropPercent, rules.repeatComplaints) = (100, 1)
        let bad = rules
        let error = await #expect(throws: RPCError.self) {
            _ = try await market.write { pipeline, db in try TaskBook(pipeline: pipeline).setRules(bad, actor: "test", db) }
        }
        #expect(error?.fieldViolations.map(\.field) == ["balanceDropPercent", "repeatComplaints"])
        rules = .init()
        rules.balanceDropPercent = 10
        let set = rules
        let inForce = try await market.write { pipeline, db in try TaskBook(pipeline: pipeline).setRules(set, actor: "test", db) }
        #expect(inForce.balanceDropPercent == 10 && inForce.balanceWindowDays == 30 && inForce.birthdayDaysAhead == 0)
        #expect(inForce.creditScale.first == "AAA" && inForce.repeatComplaints == 2)
        #expect(try await market.events("event_rules.set") == 1)
    }

    @Test("the balance drop counts the assets held when the window opened; events that leave the assets as they were add no snapshot and no second warning")
    func balanceDropAsStepFunction() async throws {
        let market = try Market()
        func event(assets: Int64) async throws {
            try await market.customer("C0000000001", type: "customer.updated") { $0.reportingAssetsMinor = assets }
        }
        func snapshots() async throws -> [String] {
            try await market.store.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT at_ms, assets_minor FROM asset_snapshot WHERE customer_id = 'C0000000001' ORDER BY key")
                    .map { "\(LocalDate(daysSinceEpoch: Int(($0[0] as Int64) / 86_400_000)).description) \($0[1] as Int64)" }
            }
        }
        market.at(2027, 3, 1)
        try await event(assets: 1_000_000)
        market.at(2027, 3, 20)
        try await event(assets: 600_000)  // 40% down: a warning
        market.at(2027, 3, 21)
        try await event(assets: 600_000)  // the same assets on a later day: no snapshot, no second warning
        market.at(2027, 3, 22)
        try await event(assets: 600_000)
        #expect(try await snapshots() == ["2027-03-01 1000000", "2027-03-20 600000"])
        market.at(2027, 4, 15)
        // The window opens on 16 March, when the customer still held the 1,000,000 of 1 March.
        try await event(assets: 590_000)
        market.at(2027, 6, 1)
        // The window opens on 2 May, under the 590,000 of 15 April: the rows before that one go.
        try await event(assets: 580_000)
        #expect(try await snapshots() == ["2027-04-15 590000", "2027-06-01 580000"])

        let warnings = try await Self.tasks(market).filter { $0.kind == .earlyWarning }
        #expect(warnings.map { "\($0.dueDate) \($0.reason)" } == [
            "2027-03-20 assets down 40% within 30 days: 1000000 -> 600000 fen",
            "2027-04-15 assets down 41% within 30 days: 1000000 -> 590000 fen",
        ])
    }

    @Test("a time deposit maturing within 14 days gets a reminder due on its maturity date, once; a renewed deposit gets its own")
    func maturities() async throws {
        let market = try Market()
        func deposit(maturing date: String) async throws {
            try await market.customer("C0000000001", type: "customer.updated") {
                $0.accounts = [SegmentTests.account("6222000000000001", .timeDeposit, balance: 1_000_000, contribution: 2_000, maturity: date)]
            }
        }
        market.at(2027, 3, 1)
        try await deposit(maturing: "2027-03-20")
        #expect(try await Self.generate(market).maturityTasks == 0)  // 19 days away
        market.at(2027, 3, 6)
        #expect(try await Self.generate(market).maturityTasks == 1)
        #expect(try await Self.generate(market).maturityTasks == 0)
        market.at(2027, 3, 20)
        try await deposit(maturing: "2028-03-20")  // renewed for a year
        market.at(2028, 3, 10)
        #expect(try await Self.generate(market).maturityTasks == 1)
        let tasks = try await Self.tasks(market).filter { $0.kind == .maturityReminder }
        #expect(tasks.map { "\($0.dueDate) \($0.occurrence) \($0.reason)" } == [
            "2027-03-20 6222000000000001:2027-03-20 account 6222000000000001 matures on 2027-03-20",
            "2028-03-20 6222000000000001:2028-03-20 account 6222000000000001 matures on 2028-03-20",
        ])
    }

    @Test("follow-ups: the owner defaults to the customer's RM; overdue once the due date passed; closed once, a cancel needs its reason")
    func followUps() async throws {
        let market = try Market()
        try await market.customer("C0000000001")
        market.at(2027, 3, 1)
        var request = Crm_Marketing_V1_CreateTaskRequest()
        (request.customerID, request.title, request.dueDate) = ("C0000000001", "Send the fund prospectus", "2027-03-03")
        let finished = request
        let tasks = TaskBook(pipeline: market.pipeline)
        let task = try await market.store.pool.write { db in try tasks.create(finished, db) }.task
        #expect(task.id == "T0000000001" && task.ownerRmID == "RM001" && task.kind == .followUp && !task.overdue)
        #expect(try await Self.tasks(market, overdueOnly: true).isEmpty)
        market.at(2027, 3, 4)
        #expect(try await Self.tasks(market, overdueOnly: true).map(\.id) == [task.id])
        #expect(try await Self.tasks(market).first?.overdue == true)

        func close(_ status: Crm_Marketing_V1_TaskStatus, outcome: String, version: Int64) async throws -> Crm_Marketing_V1_RmTask {
            var request = Crm_Marketing_V1_CloseTaskRequest()
            (request.id, request.expectedVersion, request.status, request.outcome) = (task.id, version, status, outcome)
            let finished = request
            let tasks = TaskBook(pipeline: market.pipeline)
            return try await market.store.pool.write { db in try tasks.close(finished, db) }.task
        }
        let noReason = await #expect(throws: RPCError.self) { _ = try await close(.cancelled, outcome: "", version: 1) }
        #expect(noReason?.fieldViolations.map(\.field) == ["outcome"])
        let done = try await close(.done, outcome: "sent by email", version: 1)
        #expect(done.status == .done && !done.overdue && done.outcome == "sent by email")
        let twice = await #expect(throws: RPCError.self) { _ = try await close(.done, outcome: "", version: 2) }
        #expect(twice?.reason == "TASK_CLOSED")
        #expect(try await Self.tasks(market, overdueOnly: true).isEmpty)
        let unknown = await #expect(throws: RPCError.self) {
            var request = finished
            request.customerID = "C0000000099"
            let missing = request
            _ = try await market.store.pool.write { db in try tasks.create(missing, db) }
        }
        #expect(unknown?.reason == "CUSTOMER_NOT_FOUND")
    }
}
