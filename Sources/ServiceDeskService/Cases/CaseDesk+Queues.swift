internal import Foundation
public import GRDB
internal import ServiceRuntime
public import WireProtocol
public import CRMAPI

/// Queues: who works each one, and how ASSIGN without an assignee picks among them.
extension CaseDesk {
    enum AssignmentStrategy: String {
        case roundRobin = "round_robin"
        case leastLoaded = "least_loaded"
    }

    public func setQueue(_ request: Crm_Servicedesk_V1_SetQueueRequest, _ db: Database) throws -> Crm_Servicedesk_V1_SetQueueResponse {
        var violations = FieldViolations()
        let queue = violations.code(request.queue, "queue", max: 60, required: true)
        let strategy: AssignmentStrategy? =
            switch request.strategy {
            case .roundRobin: .roundRobin
            case .leastLoaded: .leastLoaded
            case .unspecified, .UNRECOGNIZED: nil
            }
        if strategy == nil { violations.add("strategy", "is required (ROUND_ROBIN or LEAST_LOADED)") }
        if !(1...200).contains(request.agents.count) { violations.add("agents", "must list 1 to 200 agents") }
        var seen = Set<String>()
        let agents = request.agents.enumerated().map { index, agent in
            let checked = violations.code(agent, "agents[\(index)]", max: 60, required: true)
            if !checked.isEmpty, !seen.insert(checked).inserted { violations.add("agents[\(index)]", "repeats an earlier agent") }
            return checked
        }
        let escalationQueue = violations.code(request.escalationQueue, "escalationQueue", max: 60)
        if !queue.isEmpty, escalationQueue == queue { violations.add("escalationQueue", "must be another queue") }
        try violations.throwIfAny()
        guard let strategy else { return .init() }

        try db.cachedStatement(sql: "DELETE FROM queue_agent WHERE queue = ?").execute(arguments: [queue])
        try db.cachedStatement(sql: """
                INSERT INTO case_queue (queue, strategy, next_agent, escalation_queue) VALUES (?, ?, 0, ?)
                ON CONFLICT (queue) DO UPDATE SET strategy = excluded.strategy, next_agent = 0, escalation_queue = excluded.escalation_queue
                """).execute(arguments: [queue, strategy.rawValue, escalationQueue])
        for (position, agent) in agents.enumerated() {
            try db.cachedStatement(sql: "INSERT INTO queue_agent (queue, position, agent) VALUES (?, ?, ?)").execute(arguments: [queue, position, agent])
        }
        var response = Crm_Servicedesk_V1_SetQueueResponse()
        response.agents = try agents.map { agent in
            var load = Crm_Servicedesk_V1_AgentLoad()
            load.agent = agent
            load.openCases = UInt32(try openCases(queue: queue, agent: agent, db))
            return load
        }
        return response
    }

    /// The agent the queue's strategy gives the next case to; round robin moves its cursor in
    /// this transaction, so two assignments never get the same turn.
    func pickAssignee(queue: String, _ db: Database) throws -> String {
        let agents = try String.fetchAll(db.cachedStatement(sql: "SELECT agent FROM queue_agent WHERE queue = ? ORDER BY position"), arguments: [queue])
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT strategy, next_agent FROM case_queue WHERE queue = ?"), arguments: [queue]),
            !agents.isEmpty, let strategy = AssignmentStrategy(rawValue: row["strategy"])
        else {
            throw RPCError(
                code: .failedPrecondition, message: "queue \(queue) has no agents to assign to; name the assignee or set the queue (SetQueue)",
                reason: .queueHasNoAgents, processing: .notProcessed)
        }
        switch strategy {
        case .roundRobin:
            let next = (row["next_agent"] as Int) % agents.count
            try db.cachedStatement(sql: "UPDATE case_queue SET next_agent = ? WHERE queue = ?").execute(arguments: [(next + 1) % agents.count, queue])
            return agents[next]
        case .leastLoaded:
            var best = (agent: agents[0], load: Int.max)
            for agent in agents {
                let load = try openCases(queue: queue, agent: agent, db)
                if load < best.load { best = (agent, load) }
            }
            return best.agent
        }
    }

    /// A breach's escalation: an unfinished case moves to its queue's escalation queue, if it has one,
    /// and the move is recorded in its history. Runs in the transaction that fired the breach.
    func escalate(caseKey: Int64, metric: SLAMetric, at: Date, _ db: Database) throws {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT s.queue, s.status, s.assignee, q.escalation_queue FROM service_case s JOIN case_queue q ON q.queue = s.queue
                WHERE s.key = ? AND s.finished = 0 AND q.escalation_queue != ''
                """),
            arguments: [caseKey])
        else { return }
        let from: String = row["queue"]
        let to: String = row["escalation_queue"]
        let status = CaseStatus(rawValue: row["status"]) ?? .new
        try db.cachedStatement(sql: "UPDATE service_case SET queue = ? WHERE key = ?").execute(arguments: [to, caseKey])
        try record(
            caseKey: caseKey, from: status, to: status, event: Self.escalateEvent, actor: "sla-sweep",
            reason: "\(metric.rawValue) SLA breached: moved from queue \(from) to \(to)", assignee: row["assignee"], at: at, db)
    }

    /// The history's name for an escalation (not an event callers can send).
    static let escalateEvent = "escalate"

    private func openCases(queue: String, agent: String, _ db: Database) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM service_case WHERE queue = ? AND assignee = ? AND finished = 0"), arguments: [queue, agent]) ?? 0
    }
}
