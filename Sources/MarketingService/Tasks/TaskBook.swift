internal import Foundation
public import GRDB
internal import ServiceRuntime
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI

/// RM tasks: follow-ups made by hand, and the relationship tasks the generator makes from the
/// customer mirror (``generate(_:)``). Every function runs inside the caller's transaction; a task
/// and its event commit together.
public struct TaskBook: Sendable {
    public let pipeline: Pipeline

    public init(pipeline: Pipeline) {
        self.pipeline = pipeline
    }

    static let taskIDs = PrefixedID(prefix: "T", table: "rm_task", noun: "task", notFoundReason: .taskNotFound)

    enum Kind: Int {
        case followUp = 1, birthday = 2, dormantReactivation = 3, earlyWarning = 4, maturityReminder = 5
    }

    enum Status: Int {
        case open = 1, done = 2, cancelled = 3
    }

    public func create(_ request: Crm_Marketing_V1_CreateTaskRequest, _ db: Database) throws -> Crm_Marketing_V1_CreateTaskResponse {
        var violations = FieldViolations()
        let customerID = violations.code(request.customerID, "customerId", max: 20, required: true)
        var owner = violations.code(request.ownerRmID, "ownerRmId", max: 20)
        let title = violations.text(request.title, "title", max: 200, required: true)
        let due = violations.date(request.dueDate, "dueDate", required: true)
        try violations.throwIfAny()
        let customer = try MarketingMirror.usableCustomer(customerID, thing: "the task", db)
        if owner.isEmpty { owner = customer.relationshipManagerID }
        guard !owner.isEmpty else {
            var problem = FieldViolations()
            problem.add("ownerRmId", "is required: the customer has no relationship manager")
            try problem.throwIfAny()
            return .init()
        }
        let opportunity = request.opportunityID.isEmpty ? nil : try Pipeline.opportunityIDs.key(request.opportunityID, db)
        let key = try insert(kind: .followUp, customerID: customerID, owner: owner, title: title, due: due, occurrence: nil, opportunity: opportunity, db)!
        var response = Crm_Marketing_V1_CreateTaskResponse()
        response.task = try load(key, db)
        return response
    }

    public func close(_ request: Crm_Marketing_V1_CloseTaskRequest, _ db: Database) throws -> Crm_Marketing_V1_CloseTaskResponse {
        var violations = FieldViolations()
        let status: Status? = request.status == .done ? .done : request.status == .cancelled ? .cancelled : nil
        if status == nil { violations.add("status", "must be DONE or CANCELLED") }
        let outcome = violations.text(request.outcome, "outcome", max: 500, required: status == .cancelled)
        try violations.throwIfAny()
        guard let status else { return .init() }
        let key = try Self.taskIDs.key(request.id, db)
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT status, version FROM rm_task WHERE key = ?"), arguments: [key])!
        try Self.taskIDs.checkVersion(request.id, current: row[1], expected: request.expectedVersion)
        guard (row[0] as Int) == Status.open.rawValue else {
            throw RPCError(code: .failedPrecondition, message: "task \(request.id) is already closed", reason: .taskClosed, processing: .notProcessed)
        }
        try db.cachedStatement(sql: "UPDATE rm_task SET status = ?, outcome = ?, closed_at_ms = ?, version = version + 1 WHERE key = ?").execute(
            arguments: [status.rawValue, outcome, pipeline.nowMilliseconds, key])
        var response = Crm_Marketing_V1_CloseTaskResponse()
        response.task = try load(key, db)
        try publish("task.closed", response.task, db)
        return response
    }

    public func list(_ request: Crm_Marketing_V1_ListTasksRequest, _ db: Database) throws -> Crm_Marketing_V1_ListTasksResponse {
        var violations = FieldViolations()
        let owner = violations.code(request.ownerRmID, "ownerRmId", max: 20, required: true)
        let size = violations.pageSize(request.pageSize, max: 500, defaultSize: 50)
        let after = violations.pageToken(request.pageToken)
        try violations.throwIfAny()
        // Oldest first; overdue ones are open and due before today.
        let open = Status.open.rawValue
        let keys: [Int64]
        if request.overdueOnly {
            keys = try Int64.fetchAll(
                db.cachedStatement(sql: "SELECT key FROM rm_task WHERE owner_rm_id = ? AND status = \(open) AND due_date < ? AND key > ? ORDER BY key LIMIT ?"),
                arguments: [owner, pipeline.today.description, after, size + 1])
        } else if request.openOnly {
            keys = try Int64.fetchAll(
                db.cachedStatement(sql: "SELECT key FROM rm_task WHERE owner_rm_id = ? AND status = \(open) AND key > ? ORDER BY key LIMIT ?"),
                arguments: [owner, after, size + 1])
        } else {
            keys = try Int64.fetchAll(
                db.cachedStatement(sql: "SELECT key FROM rm_task WHERE owner_rm_id = ? AND key > ? ORDER BY key LIMIT ?"), arguments: [owner, after, size + 1])
        }
        var response = Crm_Marketing_V1_ListTasksResponse()
        response.tasks = try keys.prefix(size).map { try load($0, db) }
        if keys.count > size { response.nextPageToken = PageToken.token(afterKey: keys[size - 1]) }
        return response
    }

    // MARK: Relationship events

    public static let defaultCreditScale = [
        "AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB+", "BB", "BB-", "B+", "B", "B-", "CCC", "CC", "C", "D",
    ]

    /// The rules in force: the ones set, each zero or empty taking its default.
    static func rules(_ db: Database) throws -> Crm_Marketing_V1_SetEventRulesResponse {
        var rules = Crm_Marketing_V1_SetEventRulesResponse()
        rules.birthdayDaysAhead = 7
        if let stored = try Data.fetchOne(db.cachedStatement(sql: "SELECT rules FROM event_rules WHERE id = 1")) {
            rules = try Crm_Marketing_V1_SetEventRulesResponse(serializedBytes: [UInt8](stored))
        }
        if rules.balanceDropPercent == 0 { rules.balanceDropPercent = 30 }
        if rules.balanceWindowDays == 0 { rules.balanceWindowDays = 30 }
        if rules.repeatComplaints == 0 { rules.repeatComplaints = 2 }
        if rules.repeatComplaintDays == 0 { rules.repeatComplaintDays = 90 }
        if rules.creditScale.isEmpty { rules.creditScale = defaultCreditScale }
        if rules.maturityDaysAhead == 0 { rules.maturityDaysAhead = 14 }
        return rules
    }

    /// Versioned in ``SettingsHistory`` under this name.
    static let settingsName = "event_rules"

    /// Marketing.GetEventRules: in force or as an earlier Set left them.
    public func getRules(_ request: Crm_Marketing_V1_GetEventRulesRequest, _ db: Database) throws -> Crm_Marketing_V1_GetEventRulesResponse {
        let (rules, entry) = try SettingsHistory.read(Self.settingsName, version: request.version, db) { try Self.rules(db) }
        var response = Crm_Marketing_V1_GetEventRulesResponse()
        (response.birthdayDaysAhead, response.balanceDropPercent, response.balanceWindowDays) =
            (rules.birthdayDaysAhead, rules.balanceDropPercent, rules.balanceWindowDays)
        (response.repeatComplaints, response.repeatComplaintDays, response.creditScale) = (rules.repeatComplaints, rules.repeatComplaintDays, rules.creditScale)
        response.maturityDaysAhead = rules.maturityDaysAhead
        if let entry { (response.version, response.setAt.milliseconds, response.setBy) = (entry.version, entry.setAtMilliseconds, entry.setBy) }
        return response
    }

    public func setRules(_ request: Crm_Marketing_V1_SetEventRulesRequest, actor: String, _ db: Database) throws -> Crm_Marketing_V1_SetEventRulesResponse {
        var violations = FieldViolations()
        if request.birthdayDaysAhead > 60 { violations.add("birthdayDaysAhead", "must be 0 to 60") }
        if request.balanceDropPercent > 99 { violations.add("balanceDropPercent", "must be 1 to 99 (0: the default)") }
        if request.balanceWindowDays > 365 { violations.add("balanceWindowDays", "must be 1 to 365 (0: the default)") }
        if request.repeatComplaints == 1 || request.repeatComplaints > 20 { violations.add("repeatComplaints", "must be 2 to 20 (0: the default)") }
        if request.repeatComplaintDays > 365 { violations.add("repeatComplaintDays", "must be 1 to 365 (0: the default)") }
        if request.maturityDaysAhead > 90 { violations.add("maturityDaysAhead", "must be 1 to 90 (0: the default)") }
        if request.creditScale.count > 50 || Set(request.creditScale).count != request.creditScale.count
            || request.creditScale.contains(where: { $0.isEmpty || $0.utf8.count > 4 })
        {
            violations.add("creditScale", "must list at most 50 distinct grades of 1 to 4 characters")
        }
        try violations.throwIfAny()
        var rules = Crm_Marketing_V1_SetEventRulesResponse()
        (rules.birthdayDaysAhead, rules.balanceDropPercent, rules.balanceWindowDays) =
            (request.birthdayDaysAhead, request.balanceDropPercent, request.balanceWindowDays)
        (rules.repeatComplaints, rules.repeatComplaintDays, rules.creditScale) = (request.repeatComplaints, request.repeatComplaintDays, request.creditScale)
        rules.maturityDaysAhead = request.maturityDaysAhead
        var inForce = Crm_Marketing_V1_SetEventRulesResponse()
        let version = try SettingsHistory.replace(
            Self.settingsName, expectedVersion: request.expectedVersion, setBy: actor, atMilliseconds: pipeline.nowMilliseconds, db,
            apply: {
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO event_rules (id, rules) VALUES (1, ?)").execute(
                    arguments: [Data(try rules.serializedBytes() as [UInt8])])
                inForce = try Self.rules(db)
                inForce.version = try SettingsHistory.currentVersion(of: Self.settingsName, db) + 1
                try ChangeLog.append(type: "event_rules.set", entityKey: "event_rules", payload: inForce, atMilliseconds: pipeline.nowMilliseconds, db)
            },
            inForce: { inForce })
        assert(version == inForce.version)
        return inForce
    }

    // MARK: Early warnings (called by MarketingMirror in the transaction applying the feed event)

    /// A customer event: a balance that fell by the rule's share from the window's highest, or a
    /// credit grade later on the scale than before, makes a warning for the customer's RM (one per
    /// kind and day).
    ///
    /// The assets are kept as a step function: a snapshot row only when they change, so the balance
    /// the customer held when the window opened is the last row before it, and the window's highest
    /// is the larger of that and the rows within it. An event that leaves the assets as they were
    /// (a new address, a consent) writes nothing here and cannot be a drop; it used to add a row
    /// each time and warned again on every later day while the old high stayed in the window.
    func customerChanged(_ customerID: String, rm: String, assets: Int64, previousCredit: String?, credit: String, atMs: Int64, _ db: Database) throws {
        let assetsChanged = try AssetSnapshots.latest(of: customerID, db) != assets
        let creditChanged = previousCredit != nil && previousCredit != credit
        guard assetsChanged || creditChanged else { return }
        let rules = try Self.rules(db)
        let day = pipeline.today(atMilliseconds: atMs).description
        if assetsChanged {
            let highest = try AssetSnapshots.append(customerID, assets: assets, atMs: atMs, windowDays: rules.balanceWindowDays, db)
            if !rm.isEmpty, let highest, highest > 0, assets * 100 <= highest * Int64(100 - rules.balanceDropPercent) {
                let drop = (highest - assets) * 100 / highest
                try warn(customerID, rm: rm, occurrence: "assets:\(day)", day: day,
                         reason: "assets down \(drop)% within \(rules.balanceWindowDays) days: \(highest) -> \(assets) fen", db)
            }
        }
        if !rm.isEmpty, creditChanged, let previousCredit, let before = rules.creditScale.firstIndex(of: previousCredit),
            let after = rules.creditScale.firstIndex(of: credit), after > before
        {
            try warn(customerID, rm: rm, occurrence: "credit:\(day)", day: day, reason: "credit grade cut from \(previousCredit) to \(credit)", db)
        }
    }

    /// A complaint opened: as many as the rule says within its window makes a warning for the
    /// customer's RM (one per day).
    func complaintOpened(_ customerID: String, atMs: Int64, _ db: Database) throws {
        let rules = try Self.rules(db)
        let since = atMs - Int64(rules.repeatComplaintDays) * 86_400_000
        let complaints = try Int.fetchOne(
            db.cachedStatement(sql: "SELECT count(*) FROM case_mirror WHERE customer_id = ? AND kind = ? AND opened_at_ms >= ?"),
            arguments: [customerID, Crm_Servicedesk_V1_CaseKind.complaint.rawValue, since]) ?? 0
        guard complaints >= Int(rules.repeatComplaints),
            let rm = try String.fetchOne(
                db.cachedStatement(sql: "SELECT relationship_manager_id FROM customer_mirror WHERE customer_id = ?"), arguments: [customerID]),
            !rm.isEmpty
        else { return }
        let day = pipeline.today(atMilliseconds: atMs).description
        try warn(customerID, rm: rm, occurrence: "complaints:\(day)", day: day,
                 reason: "\(complaints) complaints within \(rules.repeatComplaintDays) days", db)
    }

    private func warn(_ customerID: String, rm: String, occurrence: String, day: String, reason: String, _ db: Database) throws {
        _ = try insert(
            kind: .earlyWarning, customerID: customerID, owner: rm, title: "Early warning", due: day, occurrence: occurrence, opportunity: nil,
            reason: reason, db)
    }

    /// Makes the relationship tasks due as of today; each (customer, kind, occurrence) once.
    public func generate(_ db: Database) throws -> Crm_Marketing_V1_GenerateRelationshipEventsResponse {
        let today = pipeline.today
        let rules = try Self.rules(db)
        let ahead = Int(rules.birthdayDaysAhead)
        var response = Crm_Marketing_V1_GenerateRelationshipEventsResponse()
        response.today = today.description
        let active = Crm_Customer_V1_CustomerStatus.active.rawValue
        for day in 0...ahead {
            let date = today.adding(days: day)
            for (birthMD, occurrence) in Self.birthdays(falling: date) {
                let customers = try Row.fetchAll(
                    db.cachedStatement(sql: "SELECT customer_id, relationship_manager_id FROM customer_mirror WHERE birth_md = ? AND status = ?"),
                    arguments: [birthMD, active])
                for customer in customers where !(customer[1] as String).isEmpty {
                    if try insert(
                        kind: .birthday, customerID: customer[0], owner: customer[1], title: "Birthday greeting", due: occurrence.description,
                        occurrence: occurrence.description, opportunity: nil, db) != nil
                    {
                        response.birthdayTasks += 1
                    }
                }
            }
        }
        // Time deposits maturing from today to maturity_days_ahead: due on the maturity date.
        let maturing = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT h.customer_id, m.relationship_manager_id, h.account_number, h.maturity_date FROM held_account h
                    JOIN customer_mirror m ON m.customer_id = h.customer_id
                    WHERE h.maturity_date != '' AND h.maturity_date >= ? AND h.maturity_date <= ? AND m.status = ?
                    """),
            arguments: [today.description, today.adding(days: Int(rules.maturityDaysAhead)).description, active])
        for account in maturing where !(account[1] as String).isEmpty {
            let number: String = account[2]
            let maturity: String = account[3]
            if try insert(
                kind: .maturityReminder, customerID: account[0], owner: account[1], title: "Deposit maturing: offer what comes next", due: maturity,
                occurrence: "\(number):\(maturity)", opportunity: nil, reason: "account \(number) matures on \(maturity)", db) != nil
            {
                response.maturityTasks += 1
            }
        }
        let dormant = try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT customer_id, relationship_manager_id, dormant_since FROM customer_mirror WHERE dormant_since IS NOT NULL AND status = ?"),
            arguments: [active])
        for customer in dormant where !(customer[1] as String).isEmpty {
            if try insert(
                kind: .dormantReactivation, customerID: customer[0], owner: customer[1], title: "Reactivate a dormant customer",
                due: today.adding(days: 7).description, occurrence: customer[2], opportunity: nil, db) != nil
            {
                response.reactivationTasks += 1
            }
        }
        return response
    }

    /// The birth dates ("MM-DD") whose birthday falls on `date`, with that occurrence: the date
    /// itself, and on 28 February of a year without 29 February, the people born on 29 February too.
    static func birthdays(falling date: LocalDate) -> [(String, LocalDate)] {
        let monthDay = String(date.description.dropFirst(5))
        let leap = date.year % 4 == 0 && (date.year % 100 != 0 || date.year % 400 == 0)
        if monthDay == "02-28" && !leap { return [(monthDay, date), ("02-29", date)] }
        return [(monthDay, date)]
    }

    // MARK: Storage

    /// Inserts a task; nil when a generated one for the same occurrence exists already.
    private func insert(
        kind: Kind, customerID: String, owner: String, title: String, due: String, occurrence: String?, opportunity: Int64?, reason: String = "",
        _ db: Database
    ) throws -> Int64? {
        try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO rm_task (kind, status, customer_id, owner_rm_id, title, due_date, occurrence, opportunity_key, reason, version,
                    created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
                """
        ).execute(arguments: [
            kind.rawValue, Status.open.rawValue, customerID, owner, title, due, occurrence, opportunity, reason, pipeline.nowMilliseconds,
        ])
        guard db.changesCount > 0 else { return nil }
        let key = db.lastInsertedRowID
        try publish("task.created", try load(key, db), db)
        return key
    }

    func load(_ key: Int64, _ db: Database) throws -> Crm_Marketing_V1_RmTask {
        guard let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT kind, status, customer_id, owner_rm_id, title, due_date, occurrence, opportunity_key, outcome, version, created_at_ms,
                        closed_at_ms, reason FROM rm_task WHERE key = ?
                    """),
            arguments: [key])
        else { throw Self.taskIDs.notFound(Self.taskIDs.id(key)) }
        var task = Crm_Marketing_V1_RmTask()
        task.id = Self.taskIDs.id(key)
        task.kind = Crm_Marketing_V1_TaskKind(rawValue: row[0]) ?? .unspecified
        task.status = Crm_Marketing_V1_TaskStatus(rawValue: row[1]) ?? .unspecified
        (task.customerID, task.ownerRmID, task.title, task.dueDate) = (row[2], row[3], row[4], row[5])
        task.occurrence = row[6] ?? ""
        if let opportunity = row[7] as Int64? { task.opportunityID = Pipeline.opportunityIDs.id(opportunity) }
        (task.outcome, task.version, task.createdAt.milliseconds, task.closedAt.milliseconds, task.reason) = (row[8], row[9], row[10], row[11] ?? 0, row[12])
        task.overdue = task.status == .open && task.dueDate < pipeline.today.description
        return task
    }

    func publish(_ type: String, _ task: Crm_Marketing_V1_RmTask, _ db: Database) throws {
        var payload = Crm_Marketing_V1_TaskChanged()
        payload.task = task
        try ChangeLog.append(type: type, entityKey: task.id, payload: payload, atMilliseconds: pipeline.nowMilliseconds, db)
    }
}
