public import Foundation
public import GRDB
public import ServiceRuntime
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI

/// ServiceDeskService's rules over its database: every function runs inside the caller's
/// transaction, so a case, its SLA clocks, its history and its change event commit together.
public struct CaseDesk: Sendable {
    public let now: @Sendable () -> Date
    public let machine: CaseStateMachine
    /// How long the satisfaction token a CLOSE returns can be redeemed.
    public let satisfactionTokenLifetime: TimeInterval

    public init(
        now: @escaping @Sendable () -> Date = { Date() }, machine: CaseStateMachine = CaseStateMachine(),
        satisfactionTokenLifetime: TimeInterval = 30 * 86_400
    ) {
        self.now = now
        self.machine = machine
        self.satisfactionTokenLifetime = satisfactionTokenLifetime
    }

    // MARK: Cases

    public func open(_ request: Crm_Servicedesk_V1_OpenCaseRequest, actor: String, _ db: Database) throws -> Crm_Servicedesk_V1_OpenCaseResponse {
        var violations = FieldViolations()
        violations.enumeration(known: Crm_Servicedesk_V1_CaseKind(rawValue: request.kind.rawValue) != nil && request.kind.rawValue <= 3,
                               isUnspecified: request.kind == .unspecified, "kind", required: true)
        violations.enumeration(known: request.channel.rawValue <= 5, isUnspecified: request.channel == .unspecified, "channel", required: true)
        violations.enumeration(known: request.priority.rawValue <= 4, isUnspecified: request.priority == .unspecified, "priority", required: true)
        let category = violations.categoryPath(request.category, "category")
        let customerID = violations.code(request.customerID, "customerId", max: 20, required: true)
        let accountRef = violations.text(request.accountRef, "accountRef", max: 40)
        let subject = violations.text(request.subject, "subject", max: 200, required: true)
        let description = violations.text(request.description_p, "description", max: 10_000)
        let queue = violations.code(request.queue, "queue", max: 60, required: true)
        let branch = violations.code(request.branchID, "branchId", max: 20)
        let parentID = violations.code(request.parentCaseID, "parentCaseId", max: 11)
        if !category.isEmpty, violations.isEmpty, try !categoryTakesNewCases(category, db) {
            violations.add("category", "must be a category of the tree that is not retired (ListCategories)")
        }
        try violations.throwIfAny()
        let customer = try CustomerMirror.customerForNewCase(customerID, db)
        let parent = parentID.isEmpty ? nil : try parentCase(parentID, db)

        let opened = now()
        try db.cachedStatement(sql: """
                INSERT INTO service_case (kind, category, channel, priority, customer_id, customer_value_grade, account_ref, subject,
                    description, queue, assignee, status, version, opened_at_ms, branch_id, parent_key)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, 1, ?, ?, ?)
                """).execute(arguments: [
                request.kind.rawValue, category, request.channel.rawValue, request.priority.rawValue, customerID, customer.valueGrade,
                accountRef, subject, description, queue, CaseStatus.new.rawValue, opened.milliseconds, branch.isEmpty ? customer.branchID : branch,
                parent,
            ])
        let key = db.lastInsertedRowID
        try record(caseKey: key, from: .new, to: .new, event: "open", actor: actor, reason: "", assignee: "", at: opened, db)
        let targets = try self.targets(kind: request.kind.rawValue, priority: request.priority.rawValue, grade: customer.valueGrade, db)
        let calendars = CalendarBook()
        let calendar = try calendars.calendar(forBranch: branch.isEmpty ? customer.branchID : branch, db)
        var actions: [SLAAction] = []
        for metric in SLAMetric.allCases {
            var clock = SLAClock(metric: metric, startedAt: opened, targetMinutes: targets.minutes(for: metric), warningPercent: targets.warningPercent)
            actions += clock.evaluate(at: opened, in: calendar)  // a zero target (or warning) is due at once
            try insert(clock, caseKey: key, calendar: calendar, db)
        }
        var response = Crm_Servicedesk_V1_OpenCaseResponse()
        response.case = try loadCase(key: key, calendars: calendars, db)
        try publish("case.opened", response.case, event: nil, metric: nil, db)
        // Read again only if an action changed it (a zero target).
        if try fire(actions, caseKey: key, calendars: calendars, at: opened, db) != (0, 0) {
            response.case = try loadCase(key: key, calendars: calendars, db)
        }
        return response
    }

    public func get(_ request: Crm_Servicedesk_V1_GetCaseRequest, _ db: Database) throws -> Crm_Servicedesk_V1_GetCaseResponse {
        let key = try caseKey(request.id, db)
        var response = Crm_Servicedesk_V1_GetCaseResponse()
        response.case = try loadCase(key: key, calendars: CalendarBook(), db)
        response.history = try StatementRow.readAll(db.cachedStatement(sql: "SELECT * FROM case_transition WHERE case_key = ? ORDER BY key"), arguments: [key]
        ) { row in
            var transition = Crm_Servicedesk_V1_CaseTransition()
            transition.from = (CaseStatus(rawValue: row["from_status"]) ?? .new).proto
            transition.to = (CaseStatus(rawValue: row["to_status"]) ?? .new).proto
            let event: String = row["event"]
            transition.event = event == Self.escalateEvent ? .escalate : CaseEvent(rawValue: event)?.proto ?? .unspecified
            transition.actor = row["actor"]
            transition.reason = row["reason"]
            transition.assignee = row["assignee"]
            transition.at.milliseconds = row["at_ms"]
            return transition
        }
        return response
    }

    public func transition(
        _ request: Crm_Servicedesk_V1_TransitionCaseRequest, actor: String, _ db: Database
    ) throws -> Crm_Servicedesk_V1_TransitionCaseResponse {
        var violations = FieldViolations()
        let event = CaseEvent(request.event)
        if event == nil { violations.add("event", request.event == .escalate ? "ESCALATE is the server's own (an SLA breach); not sent" : "is required (a known case event)") }
        let reason = violations.text(request.reason, "reason", max: 1_000, required: event == .cancel || event == .reopen)
        var assignee = violations.code(request.assignee, "assignee", max: 60)
        if event != .assign, !assignee.isEmpty { violations.add("assignee", "is only for ASSIGN") }
        let resolution = Self.resolution(request, event: event, &violations)
        let duplicateOfID = violations.code(request.duplicateOfID, "duplicateOfId", max: 11)
        if event != .cancel, !duplicateOfID.isEmpty { violations.add("duplicateOfId", "is only for CANCEL") }
        try violations.throwIfAny()
        guard let event else { return .init() }

        let key = try caseKey(request.id, db)
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT status, version, closed_at_ms, queue FROM service_case WHERE key = ?"), arguments: [key]) else {
            throw Self.notFound(request.id)
        }
        try Self.caseIDs.checkVersion(request.id, current: row["version"], expected: request.expectedVersion)
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
                code: .failedPrecondition, message: error.description, reason: .invalidTransition, processing: .notProcessed,
                details: ["status": status.rawValue, "allowed": allowed.map(\.rawValue).joined(separator: ",")])
        }
        let duplicateOf = duplicateOfID.isEmpty ? nil : try duplicateTarget(duplicateOfID, of: key, db)
        if event == .assign, assignee.isEmpty { assignee = try pickAssignee(queue: row["queue"], db) }

        let calendars = CalendarBook()
        let calendar = try calendars.calendar(forCase: key, db)
        let actions = try apply(transition.clocks, caseKey: key, at: at, calendar: calendar, db)
        let finished = transition.to.isFinished
        try db.cachedStatement(sql: """
                UPDATE service_case SET status = ?, version = version + 1, finished = ?,
                    assignee = CASE WHEN ? != '' THEN ? ELSE assignee END,
                    closed_at_ms = CASE WHEN ? = 'closed' THEN ? WHEN ? = 'in_progress' THEN NULL ELSE closed_at_ms END
                WHERE key = ?
                """).execute(arguments: [transition.to.rawValue, finished, assignee, assignee, transition.to.rawValue, at.milliseconds, transition.to.rawValue, key])
        if let resolution {
            try db.cachedStatement(sql: """
                    UPDATE service_case SET resolved_at_ms = ?, root_cause = ?, resolution_code = ?, compensation_minor = ?,
                        compensation_currency = ? WHERE key = ?
                    """).execute(arguments: [at.milliseconds, resolution.rootCause, resolution.resolutionCode, resolution.compensationMinor,
                            resolution.compensationCurrency, key])
        }
        if let duplicateOf { try db.cachedStatement(sql: "UPDATE service_case SET duplicate_of_key = ? WHERE key = ?").execute(arguments: [duplicateOf, key]) }
        try record(caseKey: key, from: status, to: transition.to, event: event.rawValue, actor: actor, reason: reason, assignee: assignee, at: at, db)
        var response = Crm_Servicedesk_V1_TransitionCaseResponse()
        response.case = try loadCase(key: key, calendars: calendars, db)
        try publish("case.transitioned", response.case, event: event, metric: nil, db)
        // Read again only if an action changed it (a breach found when the clock stopped).
        if try fire(actions, caseKey: key, calendars: calendars, at: at, db) != (0, 0) {
            response.case = try loadCase(key: key, calendars: calendars, db)
        }
        if event == .close {
            let token = try issueSatisfactionToken(caseKey: key, at: at, db)
            response.satisfactionToken = token.token
            response.satisfactionTokenExpiresAt.milliseconds = token.expiresAt.milliseconds
        }
        return response
    }

    public func list(_ request: Crm_Servicedesk_V1_ListCasesRequest, _ db: Database) throws -> Crm_Servicedesk_V1_ListCasesResponse {
        var violations = FieldViolations()
        let queue = violations.code(request.queue, "queue", max: 60, required: true)
        let size = violations.pageSize(request.pageSize, max: 500, defaultSize: 50)
        let after = violations.pageToken(request.pageToken)
        try violations.throwIfAny()
        let keys = try Int64.fetchAll(
            db.cachedStatement(
                sql: request.includeFinished
                    ? "SELECT key FROM service_case WHERE queue = ? AND key > ? ORDER BY key LIMIT ?"
                    : "SELECT key FROM service_case WHERE queue = ? AND finished = 0 AND key > ? ORDER BY key LIMIT ?"),
            arguments: [queue, after, size + 1])
        let calendars = CalendarBook()
        var response = Crm_Servicedesk_V1_ListCasesResponse()
        response.cases = try keys.prefix(size).map { try loadCase(key: $0, calendars: calendars, db) }
        if keys.count > size { response.nextPageToken = PageToken.token(afterKey: keys[size - 1]) }
        return response
    }

    // MARK: Configuration

    /// Versioned in ``SettingsHistory`` under this name.
    static let slaPoliciesSettings = "sla_policies"

    public func setPolicies(
        _ request: Crm_Servicedesk_V1_SetSlaPoliciesRequest, actor: String, _ db: Database
    ) throws -> Crm_Servicedesk_V1_SetSlaPoliciesResponse {
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
        var response = Crm_Servicedesk_V1_SetSlaPoliciesResponse()
        response.version = try SettingsHistory.replace(
            Self.slaPoliciesSettings, expectedVersion: request.expectedVersion, setBy: actor, atMilliseconds: now().milliseconds, db,
            apply: {
                try db.cachedStatement(sql: "DELETE FROM sla_policy").execute()
                for policy in request.policies {
                    try db.cachedStatement(sql: "INSERT INTO sla_policy VALUES (?, ?, ?, ?, ?, ?)").execute(arguments: [
                        policy.kind.rawValue, policy.priority.rawValue, policy.valueGrade, policy.firstResponseMinutes, policy.resolutionMinutes,
                        policy.warningPercent,
                    ])
                }
            },
            inForce: { try slaPolicies(db) })
        response.policies = UInt32(request.policies.count)
        return response
    }

    /// The policies in force, in (kind, priority, value grade) order.
    func slaPolicies(_ db: Database) throws -> Crm_Servicedesk_V1_GetSlaPoliciesResponse {
        var response = Crm_Servicedesk_V1_GetSlaPoliciesResponse()
        response.policies = try Row.fetchAll(db, sql: "SELECT * FROM sla_policy ORDER BY kind, priority, value_grade").map { row in
            var policy = Crm_Servicedesk_V1_SlaPolicy()
            policy.kind = .init(rawValue: row["kind"]) ?? .unspecified
            policy.priority = .init(rawValue: row["priority"]) ?? .unspecified
            (policy.valueGrade, policy.firstResponseMinutes) = (row["value_grade"], row["first_response_minutes"])
            (policy.resolutionMinutes, policy.warningPercent) = (row["resolution_minutes"], row["warning_percent"])
            return policy
        }
        return response
    }

    /// ServiceDesk.GetSlaPolicies: in force or as an earlier Set left them.
    public func getPolicies(_ request: Crm_Servicedesk_V1_GetSlaPoliciesRequest, _ db: Database) throws -> Crm_Servicedesk_V1_GetSlaPoliciesResponse {
        var (response, entry) = try SettingsHistory.read(Self.slaPoliciesSettings, version: request.version, db) { try slaPolicies(db) }
        if let entry { (response.version, response.setAt.milliseconds, response.setBy) = (entry.version, entry.setAtMilliseconds, entry.setBy) }
        return response
    }

    public func setCalendar(_ request: Crm_Servicedesk_V1_SetBusinessCalendarRequest, _ db: Database) throws -> Crm_Servicedesk_V1_SetBusinessCalendarResponse {
        _ = try Self.calendar(from: request)
        let definition = Data(try request.serializedBytes() as [UInt8])
        if request.branchID.isEmpty {
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO business_calendar (id, definition) VALUES (1, ?)").execute(arguments: [definition])
        } else {
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO branch_calendar (branch_id, definition) VALUES (?, ?)").execute(arguments: [request.branchID, definition])
        }
        // Due times of running clocks move with the calendar (those of other branches come out the same).
        let calendars = CalendarBook()
        for clockKey in try Int64.fetchAll(db.cachedStatement(sql: "SELECT key FROM sla_clock WHERE next_fire_ms IS NOT NULL")) {
            let (clock, caseKey) = try loadClock(key: clockKey, db)
            try save(clock, key: clockKey, caseKey: caseKey, calendar: try calendars.calendar(forCase: caseKey, db), db)
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
        _ = violations.code(request.branchID, "branchId", max: 20)
        let from = request.makeUpHoursFrom == 0 ? 2 : Int(request.makeUpHoursFrom)
        if !makeUp.isEmpty, hours[from, default: []].isEmpty { violations.add("makeUpHoursFrom", "must name a weekday with working hours") }
        try violations.throwIfAny()
        return BusinessCalendar(name: "default", timeZone: zone!, hours: hours, holidays: holidays, makeUpWorkingDays: makeUp, makeUpHoursFrom: from)
    }

    /// The policy for (kind, priority, grade), else for (kind, priority, any grade), else the fallback.
    func targets(kind: Int, priority: Int, grade: Int, _ db: Database) throws -> SLATargets {
        let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT first_response_minutes, resolution_minutes, warning_percent FROM sla_policy
                WHERE kind = ? AND priority = ? AND value_grade IN (?, 0) ORDER BY value_grade DESC LIMIT 1
                """),
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
        let calendars = CalendarBook()
        var result = SweepResult()
        let due = try Int64.fetchAll(db.cachedStatement(sql: "SELECT key FROM sla_clock WHERE next_fire_ms <= ? ORDER BY next_fire_ms LIMIT ?"), arguments: [at.milliseconds, limit])
        for clockKey in due {
            var (clock, caseKey) = try loadClock(key: clockKey, db)
            let calendar = try calendars.calendar(forCase: caseKey, db)
            result.checked += 1
            let actions = clock.evaluate(at: at, in: calendar)
            try save(clock, key: clockKey, caseKey: caseKey, calendar: calendar, db)
            let fired = try fire(actions, caseKey: caseKey, calendars: calendars, at: at, db)
            result.warnings += fired.warnings
            result.breaches += fired.breaches
        }
        return result
    }

    /// Carries out the SLA actions that fired (each clock fires each at most once): a warning
    /// publishes `sla.warning`; a breach raises the escalation level, moves an unfinished case to its
    /// queue's escalation queue and publishes `sla.breached`.
    @discardableResult
    func fire(_ actions: [SLAAction], caseKey: Int64, calendars: CalendarBook, at: Date, _ db: Database) throws -> (warnings: Int, breaches: Int) {
        var fired = (warnings: 0, breaches: 0)
        for action in actions {
            switch action {
            case .warning(let metric):
                fired.warnings += 1
                try db.cachedStatement(sql: "UPDATE service_case SET version = version + 1 WHERE key = ?").execute(arguments: [caseKey])
                try publish("sla.warning", try loadCase(key: caseKey, calendars: calendars, db), event: nil, metric: metric, db)
            case .breach(let metric):
                fired.breaches += 1
                try db.cachedStatement(sql: "UPDATE service_case SET escalation_level = escalation_level + 1, version = version + 1 WHERE key = ?")
                    .execute(arguments: [caseKey])
                try escalate(caseKey: caseKey, metric: metric, at: at, db)
                try publish("sla.breached", try loadCase(key: caseKey, calendars: calendars, db), event: nil, metric: metric, db)
            }
        }
        return fired
    }

    /// Applies a transition's effects on the case's current clocks.
    /// Applies a transition's effects on the case's current clocks; returns the SLA actions that fire
    /// with them (a breach found at stop), for ``fire(_:caseKey:calendars:at:_:)``.
    private func apply(
        _ effects: [CaseStateMachine.ClockEffect], caseKey: Int64, at: Date, calendar: BusinessCalendar, _ db: Database
    ) throws -> [SLAAction] {
        var clocks = try loadClocks(caseKey: caseKey, db)
        var actions: [SLAAction] = []
        for effect in effects {
            switch effect {
            case .stop(let metric):
                for index in clocks.indices where clocks[index].clock.metric == metric { actions += clocks[index].clock.stop(at: at, in: calendar) }
            case .pause(let metric):
                for index in clocks.indices where clocks[index].clock.metric == metric { clocks[index].clock.pause(at: at) }
            case .resume(let metric):
                for index in clocks.indices where clocks[index].clock.metric == metric { actions += clocks[index].clock.resume(at: at, in: calendar) }
            case .cancelAll:
                for index in clocks.indices { clocks[index].clock.cancel(at: at) }
            case .restartResolution:
                let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT kind, priority, customer_value_grade FROM service_case WHERE key = ?"), arguments: [caseKey])!
                let targets = try self.targets(kind: row[0], priority: row[1], grade: row[2], db)
                try insert(
                    SLAClock(metric: .resolution, startedAt: at, targetMinutes: targets.resolutionMinutes, warningPercent: targets.warningPercent),
                    caseKey: caseKey, calendar: calendar, db)
            }
        }
        for entry in clocks { try save(entry.clock, key: entry.key, caseKey: caseKey, calendar: calendar, db) }
        return actions
    }

    // MARK: Storage of clocks

    private func nextFire(_ clock: SLAClock, calendar: BusinessCalendar) -> Int64? {
        guard clock.isOpen, !clock.isPaused else { return nil }
        // Rounded up, so that a sweep finding the row due always finds the action due too.
        let instant = !clock.warningFired ? clock.warningAt(in: calendar) : !clock.breachFired ? clock.dueAt(in: calendar) : nil
        return instant.map { Int64(($0.timeIntervalSince1970 * 1000).rounded(.up)) }
    }

    private func insert(_ clock: SLAClock, caseKey: Int64, calendar: BusinessCalendar, _ db: Database) throws {
        try db.cachedStatement(sql: """
                INSERT INTO sla_clock (case_key, metric, started_at_ms, target_minutes, warning_percent, stopped_at_ms, state, warning_fired,
                    breach_fired, next_fire_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [
                caseKey, clock.metric.rawValue, clock.startedAt.milliseconds, clock.targetMinutes, clock.warningPercent, clock.stoppedAt?.milliseconds,
                clock.state.rawValue, clock.warningFired, clock.breachFired, nextFire(clock, calendar: calendar),
            ])
    }

    func save(_ clock: SLAClock, key: Int64, caseKey: Int64, calendar: BusinessCalendar, _ db: Database) throws {
        try db.cachedStatement(sql: """
                UPDATE sla_clock SET target_minutes = ?, warning_percent = ?, stopped_at_ms = ?, state = ?, warning_fired = ?, breach_fired = ?,
                    next_fire_ms = ? WHERE key = ?
                """).execute(arguments: [
                clock.targetMinutes, clock.warningPercent, clock.stoppedAt?.milliseconds, clock.state.rawValue, clock.warningFired,
                clock.breachFired, nextFire(clock, calendar: calendar), key,
            ])
        // Pauses are appended and closed, never rewritten.
        let stored = try Row.fetchAll(db.cachedStatement(sql: "SELECT key, end_ms FROM sla_pause WHERE clock_key = ? ORDER BY key"), arguments: [key])
        for (index, pause) in clock.pauses.enumerated() {
            if index < stored.count {
                if (stored[index][1] as Int64?) == nil, let end = pause.end {
                    try db.cachedStatement(sql: "UPDATE sla_pause SET end_ms = ? WHERE key = ?").execute(arguments: [end.milliseconds, stored[index][0] as Int64])
                }
            } else {
                try db.cachedStatement(sql: "INSERT INTO sla_pause (clock_key, start_ms, end_ms) VALUES (?, ?, ?)").execute(arguments: [key, pause.start.milliseconds, pause.end?.milliseconds])
            }
        }
    }

    // MARK: Cases as messages

    static let caseIDs = PrefixedID(prefix: "K", table: "service_case", noun: "case", notFoundReason: .caseNotFound)

    static func caseID(_ key: Int64) -> String { caseIDs.id(key) }

    static func notFound(_ id: String) -> RPCError { caseIDs.notFound(id) }

    func caseKey(_ id: String, _ db: Database) throws -> Int64 { try Self.caseIDs.key(id, db) }

    func record(
        caseKey: Int64, from: CaseStatus, to: CaseStatus, event: String, actor: String, reason: String, assignee: String, at: Date, _ db: Database
    ) throws {
        try db.cachedStatement(sql: "INSERT INTO case_transition (case_key, from_status, to_status, event, actor, reason, assignee, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)").execute(arguments: [caseKey, from.rawValue, to.rawValue, event, actor, reason, assignee, at.milliseconds])
    }

    func publish(_ type: String, _ found: Crm_Servicedesk_V1_Case, event: CaseEvent?, metric: SLAMetric?, _ db: Database) throws {
        var payload = Crm_Servicedesk_V1_CaseChanged()
        payload.case = found
        payload.event = event?.proto ?? .unspecified
        payload.metric = metric?.proto ?? .unspecified
        try ChangeLog.append(type: type, entityKey: found.id, payload: payload, atMilliseconds: now().milliseconds, db)
    }
}
