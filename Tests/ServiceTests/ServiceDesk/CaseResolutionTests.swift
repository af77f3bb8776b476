import Foundation
import GRDB
import ServiceDeskService
import ServiceRuntime
import Testing
import TestSupport
import WireProtocol
internal import CRMAPI

/// Resolution, satisfaction (also by one-time token), queue assignment and links between cases,
/// against a real SQLite file with an injected clock.
@Suite("ServiceDesk resolution, satisfaction, queues and linked cases")
struct CaseResolutionTests {
    typealias Desk = CaseDeskTests.Desk

    static func satisfaction(_ desk: Desk, caseID: String? = nil, token: String? = nil, score: UInt32 = 4) async throws -> Crm_Servicedesk_V1_Case {
        var request = Crm_Servicedesk_V1_RecordSatisfactionRequest()
        if let caseID { request.caseID = caseID }
        if let token { request.token = token }
        request.score = score
        let finished = request
        return try await desk.write { desk, db in try desk.recordSatisfaction(finished, db) }.case
    }

    static func started(_ desk: Desk, customer: String = "C0000000001") async throws -> Crm_Servicedesk_V1_Case {
        let found = try await desk.open(customer: customer)
        return try await desk.transition(try await desk.transition(found, .assign, assignee: "agent-1"), .start)
    }

    @Test("resolving needs a root cause and a resolution code; compensation needs a currency; the case shows the resolution")
    func resolution() async throws {
        let desk = try Desk()
        let found = try await Self.started(desk)
        let missing = await #expect(throws: RPCError.self) {
            _ = try await desk.transition(found, .resolve) { $0.clearResolution() }
        }
        #expect(missing?.reason == "INVALID_FIELD")
        #expect(missing?.fieldViolations.map(\.field) == ["resolution"])
        let noCurrency = await #expect(throws: RPCError.self) {
            _ = try await desk.transition(found, .resolve) { $0.resolution.compensationMinor = 20_000 }
        }
        #expect(noCurrency?.fieldViolations.map(\.field) == ["resolution.compensationCurrency"])
        let onStart = await #expect(throws: RPCError.self) {
            _ = try await desk.transition(found, .waitOnCustomer) { $0.resolution.rootCause = "x" }
        }
        #expect(onStart?.fieldViolations.map(\.field) == ["resolution"])

        desk.at(23, 11)
        let resolved = try await desk.transition(found, .resolve, reason: "annual fee charged twice by the card system") {
            $0.resolution.compensationMinor = 20_000
            $0.resolution.compensationCurrency = "CNY"
        }
        #expect(resolved.status == .resolved)
        #expect(resolved.resolvedAt.milliseconds == CaseDeskTests.ms(23, 11))
        #expect(resolved.resolution.rootCause == "annual fee charged twice by the card system")
        #expect(resolved.resolution.resolutionCode == "fee-refunded")
        #expect(resolved.resolution.compensationMinor == 20_000)
        #expect(resolved.resolution.compensationCurrency == "CNY")
    }

    @Test("closing returns a one-time satisfaction token, stored only as its SHA-256; it rates the case once")
    func satisfactionToken() async throws {
        let desk = try Desk()
        let found = try await desk.transition(try await Self.started(desk), .resolve)
        let early = await #expect(throws: RPCError.self) { _ = try await Self.satisfaction(desk, caseID: try await desk.open().id) }
        #expect(early?.reason == "CASE_NOT_RESOLVED")

        let closed = try await desk.transitionResponse(found, .close)
        let token = closed.satisfactionToken
        #expect(token.count == 43)
        #expect(closed.satisfactionTokenExpiresAt.milliseconds == CaseDeskTests.ms(23, 9) + 30 * 86_400_000)
        let stored = try await desk.store.value!.pool.read { db in try Data.fetchAll(db, sql: "SELECT token_sha256 FROM satisfaction_token") }
        #expect(stored.count == 1 && stored[0].count == 32 && !stored[0].contains(Data(token.utf8)))

        let unknown = await #expect(throws: RPCError.self) { _ = try await Self.satisfaction(desk, token: String(token.reversed())) }
        #expect(unknown?.code == .notFound)
        #expect(unknown?.reason == "TOKEN_NOT_FOUND")
        let rated = try await Self.satisfaction(desk, token: token, score: 5)
        #expect(rated.satisfaction.score == 5)
        #expect(rated.satisfaction.via == "token")
        #expect(try await desk.events("case.satisfaction") == 1)
        let used = await #expect(throws: RPCError.self) { _ = try await Self.satisfaction(desk, token: token) }
        #expect(used?.reason == "TOKEN_USED")
        let again = await #expect(throws: RPCError.self) { _ = try await Self.satisfaction(desk, caseID: found.id) }
        #expect(again?.code == .alreadyExists)
        #expect(again?.reason == "SATISFACTION_RECORDED")
    }

    @Test("a satisfaction token expires after its lifetime; a score outside 1 to 5 is refused")
    func tokenExpiry() async throws {
        let desk = try Desk()
        let found = try await desk.transition(try await Self.started(desk), .resolve)
        let token = try await desk.transitionResponse(found, .close).satisfactionToken
        let outOfRange = await #expect(throws: RPCError.self) { _ = try await Self.satisfaction(desk, token: token, score: 6) }
        #expect(outOfRange?.fieldViolations.map(\.field) == ["score"])
        desk.clock.update { $0 = $0.addingTimeInterval(30 * 86_400) }
        let expired = await #expect(throws: RPCError.self) { _ = try await Self.satisfaction(desk, token: token) }
        #expect(expired?.reason == "TOKEN_EXPIRED")
        // An agent can still record what the customer said.
        #expect(try await Self.satisfaction(desk, caseID: found.id, score: 3).satisfaction.via == "case")
    }

    static func setQueue(
        _ desk: Desk, _ strategy: Crm_Servicedesk_V1_AssignmentStrategy, _ agents: [String], queue: String = "complaints-north",
        escalation: String = ""
    ) async throws -> [Crm_Servicedesk_V1_AgentLoad] {
        var request = Crm_Servicedesk_V1_SetQueueRequest()
        request.queue = queue
        request.strategy = strategy
        request.agents = agents
        request.escalationQueue = escalation
        let finished = request
        return try await desk.write { desk, db in try desk.setQueue(finished, db) }.agents
    }

    @Test("ASSIGN without an assignee: round robin takes each agent in turn")
    func roundRobin() async throws {
        let desk = try Desk()
        let none = await #expect(throws: RPCError.self) { _ = try await desk.transition(try await desk.open(), .assign) }
        #expect(none?.reason == "QUEUE_HAS_NO_AGENTS")
        _ = try await Self.setQueue(desk, .roundRobin, ["ann", "bob", "cai"])
        var assignees: [String] = []
        for _ in 0..<4 { assignees.append(try await desk.transition(try await desk.open(), .assign).assignee) }
        #expect(assignees == ["ann", "bob", "cai", "ann"])
        let invalid = await #expect(throws: RPCError.self) { _ = try await Self.setQueue(desk, .unspecified, ["ann", "ann"]) }
        #expect(invalid?.fieldViolations.map(\.field) == ["strategy", "agents[1]"])
    }

    @Test("ASSIGN without an assignee: least loaded takes the agent with the fewest unfinished cases, the first listed on a tie")
    func leastLoaded() async throws {
        let desk = try Desk()
        for agent in ["ann", "ann", "bob"] { _ = try await desk.transition(try await desk.open(), .assign, assignee: agent) }
        // A resolved case is no load.
        let done = try await desk.transition(try await desk.transition(try await desk.open(), .assign, assignee: "bob"), .start)
        _ = try await desk.transition(done, .resolve)
        let loads = try await Self.setQueue(desk, .leastLoaded, ["ann", "bob"])
        #expect(loads.map(\.openCases) == [2, 1])
        #expect(try await desk.transition(try await desk.open(), .assign).assignee == "bob")
        #expect(try await desk.transition(try await desk.open(), .assign).assignee == "ann")
        #expect(try await desk.transition(try await desk.open(), .assign).assignee == "bob")
    }

    @Test("each breach raises the escalation level and moves the case to its queue's escalation queue, recorded in the history")
    func escalation() async throws {
        let desk = try Desk()
        try await desk.setPolicies([(.high, 0, 60, 480)])
        _ = try await Self.setQueue(desk, .roundRobin, ["ann"], escalation: "complaints-supervisors")
        _ = try await Self.setQueue(desk, .leastLoaded, ["sue"], queue: "complaints-supervisors", escalation: "complaints-head")
        let same = await #expect(throws: RPCError.self) { _ = try await Self.setQueue(desk, .roundRobin, ["ann"], escalation: "complaints-north") }
        #expect(same?.fieldViolations.map(\.field) == ["escalationQueue"])
        let found = try await desk.transition(try await desk.open(), .assign)
        #expect(found.assignee == "ann")

        desk.at(23, 10, 30)  // first response due 10:00
        #expect(try await desk.sweep().breaches == 1)
        desk.at(23, 18, 30)  // resolution due 18:00
        #expect(try await desk.sweep().breaches == 1)
        let (escalated, history) = try await desk.write { desk, db in
            var request = Crm_Servicedesk_V1_GetCaseRequest()
            request.id = found.id
            let response = try desk.get(request, db)
            return (response.case, response.history)
        }
        #expect(escalated.escalationLevel == 2)
        #expect(escalated.queue == "complaints-head")
        #expect(escalated.assignee == "ann")
        #expect(escalated.status == .assigned)
        let moves = history.filter { $0.event == .escalate }
        #expect(moves.map(\.reason) == [
            "first_response SLA breached: moved from queue complaints-north to complaints-supervisors",
            "resolution SLA breached: moved from queue complaints-supervisors to complaints-head",
        ])
        #expect(moves.allSatisfy { $0.from == .assigned && $0.to == .assigned && $0.actor == "sla-sweep" })
        // Callers cannot send it.
        let sent = await #expect(throws: RPCError.self) { _ = try await desk.transition(escalated, .escalate) }
        #expect(sent?.fieldViolations.map(\.field) == ["event"])
    }

    @Test("with a category tree set, new cases take only its live paths; a path in use can be retired, not removed")
    func categoryTree() async throws {
        let desk = try Desk()
        _ = try await desk.open { $0.category = "cards/fees" }  // no tree yet: any well-formed path
        func set(_ categories: [(String, String, Bool)]) async throws -> UInt32 {
            var request = Crm_Servicedesk_V1_SetCategoriesRequest()
            request.categories = categories.map { path, name, retired in
                var category = Crm_Servicedesk_V1_Category()
                (category.path, category.name, category.retired) = (path, name, retired)
                return category
            }
            let finished = request
            return try await desk.write { desk, db in
                var request = finished
                request.expectedVersion = try SettingsHistory.currentVersion(of: "categories", db)
                return try desk.setCategories(request, actor: "test", db)
            }.categories
        }
        let invalid = await #expect(throws: RPCError.self) {
            _ = try await set([("loans/mortgage", "房贷", false), ("cards", "", false), ("cards", "信用卡", false)])
        }
        #expect(invalid?.fieldViolations.map(\.field) == [
            "categories[1].name", "categories[2].path", "categories[0].path", "categories",
        ])
        #expect(invalid?.fieldViolations.last?.description == "must keep cards/fees: cases use it (retire it instead)")
        #expect(try await set([("cards", "信用卡", false), ("cards/fees", "年费", true), ("cards/fraud", "盗刷", false)]) == 3)
        let listed = try await desk.write { desk, db in try desk.listCategories(.init(), db) }.categories
        #expect(listed.map(\.path) == ["cards", "cards/fees", "cards/fraud"])
        #expect(listed.map(\.retired) == [false, true, false])

        #expect(try await desk.open { $0.category = "cards/fraud" }.category == "cards/fraud")
        for path in ["cards/fees", "loans/mortgage"] {
            let refused = await #expect(throws: RPCError.self) { _ = try await desk.open { $0.category = path } }
            #expect(refused?.fieldViolations.map(\.field) == ["category"])
        }
    }

    @Test("a child case names its parent; a case cancelled as a duplicate names the original")
    func links() async throws {
        let desk = try Desk()
        let parent = try await desk.open()
        let child = try await desk.open { $0.parentCaseID = parent.id }
        #expect(child.parentCaseID == parent.id)
        let grandchild = await #expect(throws: RPCError.self) { _ = try await desk.open { $0.parentCaseID = child.id } }
        #expect(grandchild?.reason == "PARENT_IS_CHILD")
        let missing = await #expect(throws: RPCError.self) { _ = try await desk.open { $0.parentCaseID = "K0000000099" } }
        #expect(missing?.reason == "CASE_NOT_FOUND")

        let copy = try await desk.open()
        let onAssign = await #expect(throws: RPCError.self) {
            _ = try await desk.transition(copy, .assign, assignee: "ann") { $0.duplicateOfID = parent.id }
        }
        #expect(onAssign?.fieldViolations.map(\.field) == ["duplicateOfId"])
        let itself = await #expect(throws: RPCError.self) {
            _ = try await desk.transition(copy, .cancel, reason: "duplicate") { $0.duplicateOfID = copy.id }
        }
        #expect(itself?.reason == "DUPLICATE_OF_SELF")
        let cancelled = try await desk.transition(copy, .cancel, reason: "opened twice") { $0.duplicateOfID = parent.id }
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.duplicateOfID == parent.id)
        let chained = await #expect(throws: RPCError.self) {
            _ = try await desk.transition(try await desk.open(), .cancel, reason: "again") { $0.duplicateOfID = copy.id }
        }
        #expect(chained?.reason == "DUPLICATE_OF_DUPLICATE")
        #expect(chained?.details["original_id"] == parent.id)
    }
}
