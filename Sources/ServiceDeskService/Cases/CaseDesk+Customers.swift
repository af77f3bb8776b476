public import GRDB
internal import ServiceRuntime
internal import CRMAPI

/// What happens to cases when their customer changes at CustomerService (CustomerMirror calls
/// these inside the transaction that applies the feed event): a new value grade re-targets the
/// open cases, a merge moves every case to the survivor, an unmerge moves them back, an erasure
/// blanks what the cases say.
extension CaseDesk {
    /// Open cases take the targets of the policy for the new grade; time already counted stays counted.
    @discardableResult
    public func retargetOpenCases(of customerID: String, grade: Int, _ db: Database) throws -> Int {
        let calendars = CalendarBook()
        let rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT key, kind, priority, customer_value_grade FROM service_case WHERE customer_id = ? AND finished = 0"),
            arguments: [customerID])
        var retargeted = 0
        for row in rows where (row["customer_value_grade"] as Int) != grade {
            let caseKey: Int64 = row["key"]
            let calendar = try calendars.calendar(forCase: caseKey, db)
            let targets = try self.targets(kind: row["kind"], priority: row["priority"], grade: grade, db)
            for clockKey in try Int64.fetchAll(db.cachedStatement(sql: "SELECT key FROM sla_clock WHERE case_key = ?"), arguments: [caseKey]) {
                var (clock, _) = try loadClock(key: clockKey, db)
                guard clock.isOpen else { continue }
                clock.retarget(minutes: targets.minutes(for: clock.metric), warningPercent: targets.warningPercent)
                try save(clock, key: clockKey, caseKey: caseKey, calendar: calendar, db)
            }
            try db.cachedStatement(sql: "UPDATE service_case SET customer_value_grade = ?, version = version + 1 WHERE key = ?").execute(arguments: [grade, caseKey])
            try publish("case.retargeted", try loadCase(key: caseKey, calendars: calendars, db), event: nil, metric: nil, db)
            retargeted += 1
        }
        return retargeted
    }

    /// Every case of a merged-away customer, open or finished, now belongs to the survivor; each
    /// move is recorded so that an unmerge can undo exactly these.
    @discardableResult
    public func moveCases(of mergedID: String, to survivorID: String, _ db: Database) throws -> Int {
        let keys = try Int64.fetchAll(db.cachedStatement(sql: "SELECT key FROM service_case WHERE customer_id = ? ORDER BY key"), arguments: [mergedID])
        let at = now().milliseconds
        for key in keys {
            try db.cachedStatement(sql: "INSERT INTO case_rekey (case_key, from_customer_id, to_customer_id, at_ms) VALUES (?, ?, ?, ?)").execute(arguments: [key, mergedID, survivorID, at])
            try rekey(caseKey: key, to: survivorID, db)
        }
        return keys.count
    }

    /// An unmerge: the cases the merge moved away from `restoredID` come back (cases opened for the
    /// survivor after the merge stay with it).
    @discardableResult
    public func moveCasesBack(to restoredID: String, _ db: Database) throws -> Int {
        let moves = try Row.fetchAll(db.cachedStatement(sql: "SELECT key, case_key FROM case_rekey WHERE from_customer_id = ? AND undone_at_ms IS NULL ORDER BY key"),
            arguments: [restoredID])
        let at = now().milliseconds
        for move in moves {
            try db.cachedStatement(sql: "UPDATE case_rekey SET undone_at_ms = ? WHERE key = ?").execute(arguments: [at, move["key"] as Int64])
            try rekey(caseKey: move["case_key"], to: restoredID, db)
        }
        return moves.count
    }

    private func rekey(caseKey: Int64, to customerID: String, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE service_case SET customer_id = ?, version = version + 1 WHERE key = ?").execute(arguments: [customerID, caseKey])
        try publish("case.rekeyed", try loadCase(key: caseKey, calendars: CalendarBook(), db), event: nil, metric: nil, db)
    }

    /// An erased customer's cases keep their facts (kind, category, dates, SLA clocks, codes, the
    /// compensation paid) and lose every free text: subject, description, account, root cause,
    /// satisfaction comment and every transition's reason. Each case's version goes up, its past
    /// events in the change log carry the blanked case from now on, and a `case.redacted` event
    /// follows. Returns what was erased where, for the `erasure.applied` event.
    func eraseCustomer(_ customerID: String, _ db: Database) throws -> Erasure {
        var erasure = Erasure(customerID: customerID)
        let keys = try Int64.fetchAll(db, sql: "SELECT key FROM service_case WHERE customer_id = ? ORDER BY key", arguments: [customerID])
        let ids = keys.map(Self.caseID)
        try erasure.blank(
            "service_case", ["subject", "description", "account_ref", "root_cause", "satisfaction_comment"], where: "customer_id = ?", [customerID], db)
        try erasure.blank("case_transition", ["reason"], where: "case_key IN (SELECT key FROM service_case WHERE customer_id = ?)", [customerID], db)
        let calendars = CalendarBook()
        for key in keys {
            try db.execute(sql: "UPDATE service_case SET version = version + 1 WHERE key = ?", arguments: [key])
            var payload = Crm_Servicedesk_V1_CaseChanged()
            payload.case = try loadCase(key: key, calendars: calendars, db)
            try erasure.redactPastEvents(of: payload.case.id, to: payload, db)
            try publish("case.redacted", payload.case, event: nil, metric: nil, db)
        }
        try erasure.eraseRuntimeCopies(entityKeys: [customerID] + ids, nowMilliseconds: now().milliseconds, db)
        return erasure
    }
}
