public import Foundation
public import GRDB
public import ServiceRuntime
internal import SwiftProtobuf
public import WireProtocol

/// ServiceDeskService's rules over its database: every function runs inside the caller's
/// transaction, so a case, its SLA clocks, its history and its change event commit together.
public struct CaseDesk: Sendable {
    public let now: @Sendable () -> Date
    public let machine: CaseStateMachine

    public init(now: @escaping @Sendable () -> Date = { Date() }, machine: CaseStateMachine = CaseStateMachine()) {
        self.now = now
        self.machine = machine
    }

    /// Who made a change, for the history: the calling system and the end user it reported.
    public static func actor(_ context: ServerCallContext) -> String {
        let system = context.metadata.callerSystem ?? context.peerIdentity ?? "direct"
        guard let user = context.metadata.endUser else { return system }
        return "\(system)/\(user)"
    }

    // MARK: Cases

    public func open(_ request: Crm_Servicedesk_V1_OpenCaseRequest, actor: String, _ db: Database) throws -> Crm_Servicedesk_V1_OpenCaseResponse {
        var violations = FieldViolations()
        violations.enumeration(known: Crm_Servicedesk_V1_CaseKind(rawValue: request.kind.rawValue) != nil && request.kind.rawValue <= 3,
                               isUnspecified: request.kind == .unspecified, "kind", required: true)
        violations.enumeration(known: request.channel.rawValue <= 5, isUnspecified: request.channel == .unspecified, "channel", required: true)
        violations.enumeration(known: request.priority.rawValue <= 4, isUnspecified: request.priority == .unspecified, "priority", required: true)
        let category = violations.text(request.category, "category", max: 100, required: true)
        let customerID = violations.code(request.customerID, "customerId", max: 20, required: true)
        let accountRef = violations.text(request.accountRef, "accountRef", max: 40)
        let subject = violations.text(request.subject, "subject", max: 200, required: true)
        let description = violations.text(request.description_p, "description", max: 10_000)
        let queue = violations.code(request.queue, "queue", max: 60, required: true)
        let branch = violations.code(request.branchID, "branchId", max: 20)
        try violations.throwIfAny()
        let customer = try CustomerMirror.customerForNewCase(customerID, db)

        let opened = now()
        try db.execute(
            sql: """
                INSERT INTO service_case (kind, category, channel, priority, customer_id, customer_value_grade, account_ref, subject,
                    description, queue, assignee, status, version, opened_at_ms, branch_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, 1, ?, ?)
                """,
            arguments: [
                request.kind.rawValue, category, request.channel.rawValue, request.priority.rawValue, customerID, customer.valueGrade,
                accountRef, subject, description, queue, CaseStatus.new.rawValue, opened.milliseconds, branch.isEmpty ? customer.branchID : branch,
            ])
        let key = db.lastInsertedRowID
        try record(caseKey: key, from: .new, to: .new, event: "open", actor: actor, reason: "", assignee: "", at: opened, db)
        let targets = try self.targets(kind: request.kind.rawValue, priority: request.priority.rawValue, grade: customer.valueGrade, db)
        let calendar = try self.calendar(db)
        for metric in SLAMetric.allCases {
            var clock = SLAClock(metric: metric, startedAt: opened, targetMinutes: targets.minutes(for: metric), warningPercent: targets.warningPercent)
            _ = clock.evaluate(at: opened, in: calendar)  // a zero target is due at once
            try insert(clock, caseKey: key, calendar: calendar, db)
        }
        let found = try loadCase(key: key, calendar: calendar, db)
        try publish("case.opened", found, event: nil, metric: nil, db)
        var response = Crm_Servicedesk_V1_OpenCaseResponse()
        response.case = found
        return response
    }

    public func get(_ request: Crm_Servicedesk_V1_GetCaseRequest, _ db: Database) throws -> Crm_Servicedesk_V1_GetCaseResponse {
        let key = try caseKey(request.id, db)
        var response = Crm_Servicedesk_V1_GetCaseResponse()
        response.case = try loadCase(key: key, calendar: try calendar(db), db)
        response.history = try Row.fetchAll(
            db, sql: "SELECT * FROM case_transition WHERE case_key = ? ORDER BY key", arguments: [key]
        ).map { row in
            var transition = Crm_Servicedesk_V1_CaseTransition()
            transition.from = (CaseStatus(rawValue: row["from_status"]) ?? .new).proto
            transition.to = (CaseStatus(rawValue: row["to_status"]) ?? .new).proto
            transition.event = CaseEvent(rawValue: row["event"])?.proto ?? .unspecified
            transition.actor = row["actor"]
            transition.reason = row["reason"]
            transition.assignee = row["assignee"]
            transition.atMs = row["at_ms"]
            return transition
        }
        return response
    }

    public func transition(
        _ request: Crm_Servicedesk_V1_TransitionCaseRequest, actor: String, _ db: Database
    ) throws -> Crm_Servicedesk_V1_TransitionCaseResponse {
        var violations = FieldViolations()
        let event = CaseEvent(request.event)
        if event == nil { violations.add("event", "is required (a known case event)") }
        let reason = violations.text(request.reason, "reason", max: 1_000, required: event == .cancel || event == .reopen)
        let assignee = violations.code(request.assignee, "assignee", max: 60, required: event == .assign)
        try violations.throwIfAny()
        guard let event else { return .init() }

        let key = try caseKey(request.id, db)
        guard let row = try Row.fetchOne(db, sql: "SELECT status, version, closed_at_ms FROM service_case WHERE key = ?", arguments: [key]) else {
            throw Self.notFound(request.id)
        }
        let version: Int64 = row["version"]
        guard version == request.expectedVersion else {
            throw RPCError(
                code: .aborted, message: "case \(request.id) is at version \(version), not \(request.expectedVersion); read it again and retry",
                reason: "VERSION_MISMATCH", processing: .notProcessed)
        }
        let status = CaseStatus(rawValue: row["status"]) ?? .new
        let at = now()
        let closedAt = (row["closed_at_ms"] as Int64?).map(Date.init(milliseconds:))
        let transition: CaseStateMachine.Transition
        switch machine.apply(event, to: status, closedAt: closedAt, now: at) {
        case .success(let value):
            transition = value
        case .failure(let error):
            let allowed: [CaseEvent]
            if case .notAllowed(_, _, let list) = error { allowed = list } else { allowed = [] }
            throw RPCError(
                code: .failedPrecondition, message: error.description, reason: "INVALID_TRANSITION", processing: .notProcessed,
                details: ["status": status.rawValue, "allowed": allowed.map(\.rawValue).joined(separator: ",")])
        }

        let calendar = try self.calendar(db)
        try apply(transition.clocks, caseKey: key, at: at, calendar: calendar, db)
        let finished = transition.to.isFinished
        try db.execute(
            sql: """
                UPDATE service_case SET status = ?, version = version + 1, finished = ?,
                    assignee = CASE WHEN ? != '' THEN ? ELSE assignee END,
                    closed_at_ms = CASE WHEN ? = 'closed' THEN ? WHEN ? = 'in_progress' THEN NULL ELSE closed_at_ms END
                WHERE key = ?
                """,
            arguments: [transition.to.rawValue, finished, assignee, assignee, transition.to.rawValue, at.milliseconds, transition.to.rawValue, key])
        try record(caseKey: key, from: status, to: transition.to, event: event.rawValue, actor: actor, reason: reason, assignee: assignee, at: at, db)
        let updated = try loadCase(key: key, calendar: calendar, db)
        try publish("case.transitioned", updated, event: event, metric: nil, db)
        var response = Crm_Servicedesk_V1_TransitionCaseResponse()
        response.case = updated
        return response
    }

    public func list(_ request: Crm_Servicedesk_V1_ListCasesRequest, _ db: Database) throws -> Crm_Servicedesk_V1_ListCasesResponse {
        var violations = FieldViolations()
        let queue = violations.code(request.queue, "queue", max: 60, required: true)
        let size = violations.pageSize(request.pageSize, max: 500, defaultSize: 50)
        let after = violations.pageToken(request.pageToken)
        try violations.throwIfAny()
        let keys = try Int64.fetchAll(
            db,
            sql: request.includeFinished
                ? "SELECT key FROM service_case WHERE queue = ? AND key > ? ORDER BY key LIMIT ?"
                : "SELECT key FROM service_case WHERE queue = ? AND finished = 0 AND key > ? ORDER BY key LIMIT ?",
            arguments: [queue, after, size + 1])
        let calendar = try self.calendar(db)
        var response = Crm_Servicedesk_V1_ListCasesResponse()
        response.cases = try keys.prefix(size).map { try loadCase(key: $0, calendar: calendar, db) }
        if keys.count > size { response.nextPageToken = PageToken.token(afterKey: keys[size - 1]) }
        return response
    }

    // MARK: Configuration

    public func setPolicies(_ request: Crm_Servicedesk_V1_SetSlaPoliciesRequest, _ db: Database) throws -> Crm_Servicedesk_V1_SetSlaPoliciesResponse {
        var violations = FieldViolations()
        var seen = Set<[Int]>()
        for (index, policy) in request.policies.enumerated() {
            let field = "policies[\(index)]"
            if policy.kind == .unspecified || policy.kind.rawValue > 3 { violations.add(field + ".kind", "is required (a known kind)") }
            if policy.priority == .unspecified || policy.priority.rawValue > 4 { violations.add(field + ".priority", "is required (a known priority)") }
            if policy.valueGrade > 5 { violations.add(field + ".valueGrade", "must be 0 (any) to 5") }
            if policy.resolutionMinutes == 0 || policy.resolutionMinutes > 525_600 { violations.add(field + ".resolutionMinutes", "must be 1 to 525600") }
            if policy.firstResponseMinutes > policy.resolutionMinutes { violations.add(field + ".firstResponseMinutes", "must not exceed resolutionMinutes") }
            if !(1...99).contains(policy.warningPercent) { violations.add(field + ".warningPercent", "must be 1 to 99") }
            if !seen.insert([policy.kind.rawValue, policy.priority.rawValue, Int(policy.valueGrade)]).inserted {
                violations.add(field, "repeats an earlier (kind, priority, valueGrade)")
            }
        }
        try violations.throwIfAny()
        try db.execute(sql: "DELETE FROM sla_policy")
        for policy in request.policies {
            try db.execute(
                sql: "INSERT INTO sla_policy VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [policy.kind.rawValue, policy.priority.rawValue, policy.valueGrade, policy.firstResponseMinutes, policy.resolutionMinutes,
                            policy.warningPercent])
        }
        var response = Crm_Servicedesk_V1_SetSlaPoliciesResponse()
        response.policies = UInt32(request.policies.count)
        return response
    }

    public func setCalendar(_ request: Crm_Servicedesk_V1_SetBusinessCalendarRequest, _ db: Database) throws -> Crm_Servicedesk_V1_SetBusinessCalendarResponse {
        _ = try Self.calendar(from: request)
        try db.execute(sql: "INSERT OR REPLACE INTO business_calendar (id, definition) VALUES (1, ?)", arguments: [Data(try request.serializedBytes() as [UInt8])])
        // Due times of running clocks move with the calendar.
        let calendar = try self.calendar(db)
        for clockKey in try Int64.fetchAll(db, sql: "SELECT key FROM sla_clock WHERE next_fire_ms IS NOT NULL") {
            let (clock, caseKey) = try loadClock(key: clockKey, db)
            try save(clock, key: clockKey, caseKey: caseKey, calendar: calendar, db)
        }
        return .init()
    }

    /// Checks a calendar definition and makes the value.
    static func calendar(from request: Crm_Servicedesk_V1_SetBusinessCalendarRequest) throws -> BusinessCalendar {
        var violations = FieldViolations()
        let zone = TimeZone(identifier: request.timeZone)
        if zone == nil { violations.add("timeZone", "must be an IANA time zone such as Asia/Shanghai") }
        var hours: [Int: [BusinessCalendar.Shift]] = [:]
        for (index, day) in request.days.enumerated() {
            if !(1...7).contains(day.weekday) || hours[Int(day.weekday)] != nil {
                violations.add("days[\(index)].weekday", "must be 1 (Sunday) to 7, each at most once")
                continue
            }
            var last = -1
            for (shiftIndex, shift) in day.shifts.enumerated() {
                if shift.startMinute >= shift.endMinute || shift.endMinute > 1_440 || Int(shift.startMinute) < last {
                    violations.add("days[\(index)].shifts[\(shiftIndex)]", "must be ascending, non-overlapping minutes within 0 to 1440")
                }
                last = Int(shift.endMinute)
            }
            hours[Int(day.weekday)] = day.shifts.map { Int($0.startMinute)..<Int(max($0.endMinute, $0.startMinute)) }
        }
        if hours.values.allSatisfy(\.isEmpty) { violations.add("days", "must have working hours on at least one day") }
        var holidays = Set<LocalDate>()
        for (index, text) in request.holidays.enumerated() {
            if let date = LocalDate(text) { holidays.insert(date) } else { violations.add("holidays[\(index)]", "must be a date YYYY-MM-DD") }
        }
        var makeUp = Set<LocalDate>()
        for (index, text) in request.makeUpWorkingDays.enumerated() {
            if let date = LocalDate(text) { makeUp.insert(date) } else { violations.add("makeUpWorkingDays[\(index)]", "must be a date YYYY-MM-DD") }
        }
        let from = request.makeUpHoursFrom == 0 ? 2 : Int(request.makeUpHoursFrom)
        if !makeUp.isEmpty, hours[from, default: []].isEmpty { violations.add("makeUpHoursFrom", "must name a weekday with working hours") }
        try violations.throwIfAny()
        return BusinessCalendar(name: "default", timeZone: zone!, hours: hours, holidays: holidays, makeUpWorkingDays: makeUp, makeUpHoursFrom: from)
    }

    /// The calendar in force: the one set, or Monday to Friday 09:00-12:00, 13:00-18:00 in Asia/Shanghai.
    func calendar(_ db: Database) throws -> BusinessCalendar {
        guard let data = try Data.fetchOne(db, sql: "SELECT definition FROM business_calendar WHERE id = 1") else {
            return .weekdays(timeZone: TimeZone(identifier: "Asia/Shanghai")!)
        }
        return try Self.calendar(from: Crm_Servicedesk_V1_SetBusinessCalendarRequest(serializedBytes: [UInt8](data)))
    }

    /// The policy for (kind, priority, grade), else for (kind, priority, any grade), else the fallback.
    func targets(kind: Int, priority: Int, grade: Int, _ db: Database) throws -> SLATargets {
        let row = try Row.fetchOne(
            db,
            sql: """
                SELECT first_response_minutes, resolution_minutes, warning_percent FROM sla_policy
                WHERE kind = ? AND priority = ? AND value_grade IN (?, 0) ORDER BY value_grade DESC LIMIT 1
                """,
            arguments: [kind, priority, grade])
        guard let row else { return .fallback }
        return SLATargets(firstResponseMinutes: row[0], resolutionMinutes: row[1], warningPercent: row[2])
    }

    // MARK: SLA

    public struct SweepResult: Sendable, Equatable {
        public var checked = 0
        public var warnings = 0
        public var breaches = 0

        public init(checked: Int = 0, warnings: Int = 0, breaches: Int = 0) {
            self.checked = checked
            self.warnings = warnings
            self.breaches = breaches
        }
    }

    /// Evaluates every clock whose next action is due: each warning and breach fires once (the
    /// clock records it in this transaction), a breach raises the case's escalation level, and
    /// each publishes an event.
    public func sweep(limit: Int = 1_000, _ db: Database) throws -> SweepResult {
        let at = now()
        let calendar = try self.calendar(db)
        var result = SweepResult()
        let due = try Int64.fetchAll(
            db, sql: "SELECT key FROM sla_clock WHERE next_fire_ms <= ? ORDER BY next_fire_ms LIMIT ?", arguments: [at.milliseconds, limit])
        for clockKey in due {
            var (clock, caseKey) = try loadClock(key: clockKey, db)
            result.checked += 1
            let actions = clock.evaluate(at: at, in: calendar)
            try save(clock, key: clockKey, caseKey: caseKey, calendar: calendar, db)
            for action in actions {
                switch action {
                case .warning(let metric):
                    result.warnings += 1
                    try db.execute(sql: "UPDATE service_case SET version = version + 1 WHERE key = ?", arguments: [caseKey])
                    try publish("sla.warning", try loadCase(key: caseKey, calendar: calendar, db), event: nil, metric: metric, db)
                case .breach(let metric):
                    result.breaches += 1
                    try db.execute(
                        sql: "UPDATE service_case SET escalation_level = escalation_level + 1, version = version + 1 WHERE key = ?", arguments: [caseKey])
                    try publish("sla.breached", try loadCase(key: caseKey, calendar: calendar, db), event: nil, metric: metric, db)
                }
            }
        }
        return result
    }

    /// Applies a transition's effects on the case's current clocks.
    private func apply(_ effects: [CaseStateMachine.ClockEffect], caseKey: Int64, at: Date, calendar: BusinessCalendar, _ db: Database) throws {
        let clockKeys = try Int64.fetchAll(db, sql: "SELECT key FROM sla_clock WHERE case_key = ? ORDER BY key", arguments: [caseKey])
        var clocks = try clockKeys.map { (key: $0, clock: try loadClock(key: $0, db).clock) }
        for effect in effects {
            switch effect {
            case .stop(let metric):
                for index in clocks.indices where clocks[index].clock.metric == metric { clocks[index].clock.stop(at: at, in: calendar) }
            case .pause(let metric):
                for index in clocks.indices where clocks[index].clock.metric == metric { clocks[index].clock.pause(at: at) }
            case .resume(let metric):
                for index in clocks.indices where clocks[index].clock.metric == metric { clocks[index].clock.resume(at: at, in: calendar) }
            case .cancelAll:
                for index in clocks.indices { clocks[index].clock.cancel(at: at) }
            case .restartResolution:
                let row = try Row.fetchOne(db, sql: "SELECT kind, priority, customer_value_grade FROM service_case WHERE key = ?", arguments: [caseKey])!
                let targets = try self.targets(kind: row[0], priority: row[1], grade: row[2], db)
                try insert(
                    SLAClock(metric: .resolution, startedAt: at, targetMinutes: targets.resolutionMinutes, warningPercent: targets.warningPercent),
                    caseKey: caseKey, calendar: calendar, db)
            }
        }
        for entry in clocks { try save(entry.clock, key: entry.key, caseKey: caseKey, calendar: calendar, db) }
    }

    // MARK: Storage of clocks

    private func nextFire(_ clock: SLAClock, calendar: BusinessCalendar) -> Int64? {
        guard clock.isOpen, !clock.isPaused else { return nil }
        // Rounded up, so that a sweep finding the row due always finds the action due too.
        let instant = !clock.warningFired ? clock.warningAt(in: calendar) : !clock.breachFired ? clock.dueAt(in: calendar) : nil
        return instant.map { Int64(($0.timeIntervalSince1970 * 1000).rounded(.up)) }
    }

    private func insert(_ clock: SLAClock, caseKey: Int64, calendar: BusinessCalendar, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO sla_clock (case_key, metric, started_at_ms, target_minutes, warning_percent, stopped_at_ms, state, warning_fired,
                    breach_fired, next_fire_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                caseKey, clock.metric.rawValue, clock.startedAt.milliseconds, clock.targetMinutes, clock.warningPercent, clock.stoppedAt?.milliseconds,
                clock.state.rawValue, clock.warningFired, clock.breachFired, nextFire(clock, calendar: calendar),
            ])
    }

    func save(_ clock: SLAClock, key: Int64, caseKey: Int64, calendar: BusinessCalendar, _ db: Database) throws {
        try db.execute(
            sql: """
                UPDATE sla_clock SET target_minutes = ?, warning_percent = ?, stopped_at_ms = ?, state = ?, warning_fired = ?, breach_fired = ?,
                    next_fire_ms = ? WHERE key = ?
                """,
            arguments: [
                clock.targetMinutes, clock.warningPercent, clock.stoppedAt?.milliseconds, clock.state.rawValue, clock.warningFired,
                clock.breachFired, nextFire(clock, calendar: calendar), key,
            ])
        // Pauses are appended and closed, never rewritten.
        let stored = try Row.fetchAll(db, sql: "SELECT key, end_ms FROM sla_pause WHERE clock_key = ? ORDER BY key", arguments: [key])
        for (index, pause) in clock.pauses.enumerated() {
            if index < stored.count {
                if (stored[index]["end_ms"] as Int64?) == nil, let end = pause.end {
                    try db.execute(sql: "UPDATE sla_pause SET end_ms = ? WHERE key = ?", arguments: [end.milliseconds, stored[index]["key"] as Int64])
                }
            } else {
                try db.execute(
                    sql: "INSERT INTO sla_pause (clock_key, start_ms, end_ms) VALUES (?, ?, ?)",
                    arguments: [key, pause.start.milliseconds, pause.end?.milliseconds])
            }
        }
    }

    func loadClock(key: Int64, _ db: Database) throws -> (clock: SLAClock, caseKey: Int64) {
        let row = try Row.fetchOne(db, sql: "SELECT * FROM sla_clock WHERE key = ?", arguments: [key])!
        let pauses = try Row.fetchAll(db, sql: "SELECT start_ms, end_ms FROM sla_pause WHERE clock_key = ? ORDER BY key", arguments: [key]).map {
            SLAClock.Pause(start: Date(milliseconds: $0["start_ms"]), end: ($0["end_ms"] as Int64?).map(Date.init(milliseconds:)))
        }
        let clock = SLAClock(
            metric: SLAMetric(rawValue: row["metric"]) ?? .resolution, startedAt: Date(milliseconds: row["started_at_ms"]),
            targetMinutes: row["target_minutes"], warningPercent: row["warning_percent"], pauses: pauses,
            stoppedAt: (row["stopped_at_ms"] as Int64?).map(Date.init(milliseconds:)), state: SLAState(rawValue: row["state"]) ?? .inProgress,
            warningFired: row["warning_fired"], breachFired: row["breach_fired"])
        return (clock, row["case_key"])
    }

    // MARK: Cases as messages

    static func caseID(_ key: Int64) -> String { "K" + String(format: "%010lld", key) }

    static func notFound(_ id: String) -> RPCError {
        RPCError(code: .notFound, message: "no case \(id)", reason: "CASE_NOT_FOUND", processing: .notProcessed)
    }

    private func caseKey(_ id: String, _ db: Database) throws -> Int64 {
        guard id.count == 11, id.first == "K", let key = Int64(id.dropFirst()), key > 0,
            try Bool.fetchOne(db, sql: "SELECT 1 FROM service_case WHERE key = ?", arguments: [key]) == true
        else { throw Self.notFound(id) }
        return key
    }

    func loadCase(key: Int64, calendar: BusinessCalendar, _ db: Database) throws -> Crm_Servicedesk_V1_Case {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM service_case WHERE key = ?", arguments: [key]) else {
            throw Self.notFound(Self.caseID(key))
        }
        var found = Crm_Servicedesk_V1_Case()
        found.id = Self.caseID(key)
        found.kind = Crm_Servicedesk_V1_CaseKind(rawValue: row["kind"]) ?? .unspecified
        found.category = row["category"]
        found.channel = Crm_Servicedesk_V1_CaseChannel(rawValue: row["channel"]) ?? .unspecified
        found.priority = Crm_Servicedesk_V1_CasePriority(rawValue: row["priority"]) ?? .unspecified
        found.customerID = row["customer_id"]
        found.customerValueGrade = row["customer_value_grade"]
        found.accountRef = row["account_ref"]
        found.subject = row["subject"]
        found.description_p = row["description"]
        found.queue = row["queue"]
        found.assignee = row["assignee"]
        found.status = (CaseStatus(rawValue: row["status"]) ?? .new).proto
        found.version = row["version"]
        found.openedAtMs = row["opened_at_ms"]
        found.closedAtMs = row["closed_at_ms"] ?? 0
        found.branchID = row["branch_id"]
        found.escalationLevel = row["escalation_level"]
        let at = now()
        for clockKey in try Int64.fetchAll(db, sql: "SELECT key FROM sla_clock WHERE case_key = ? ORDER BY key", arguments: [key]) {
            let clock = try loadClock(key: clockKey, db).clock
            var sla = Crm_Servicedesk_V1_SlaClock()
            sla.metric = clock.metric.proto
            sla.state = clock.state.proto
            sla.targetMinutes = UInt32(clock.targetMinutes)
            sla.startedAtMs = clock.startedAt.milliseconds
            sla.dueAtMs = clock.dueAt(in: calendar)?.milliseconds ?? 0
            sla.warningAtMs = clock.warningFired ? 0 : clock.warningAt(in: calendar)?.milliseconds ?? 0
            sla.elapsedMinutes = UInt32(clock.elapsedSeconds(at: at, in: calendar) / 60)
            sla.stoppedAtMs = clock.stoppedAt?.milliseconds ?? 0
            sla.pauseCount = UInt32(clock.pauses.count)
            found.slas.append(sla)
        }
        return found
    }

    func record(
        caseKey: Int64, from: CaseStatus, to: CaseStatus, event: String, actor: String, reason: String, assignee: String, at: Date, _ db: Database
    ) throws {
        try db.execute(
            sql: "INSERT INTO case_transition (case_key, from_status, to_status, event, actor, reason, assignee, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [caseKey, from.rawValue, to.rawValue, event, actor, reason, assignee, at.milliseconds])
    }

    func publish(_ type: String, _ found: Crm_Servicedesk_V1_Case, event: CaseEvent?, metric: SLAMetric?, _ db: Database) throws {
        var payload = Crm_Servicedesk_V1_CaseChanged()
        payload.case = found
        payload.event = event?.proto ?? .unspecified
        payload.metric = metric?.proto ?? .unspecified
        try ChangeLog.append(type: type, entityKey: found.id, payload: payload, atMilliseconds: now().milliseconds, db)
    }
}
