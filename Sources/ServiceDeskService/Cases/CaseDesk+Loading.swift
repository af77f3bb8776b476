internal import Foundation
internal import GRDB
internal import ServiceRuntime
internal import WireProtocol
internal import CRMAPI

/// Reading cases and clocks back. These run for every case a list or a sweep touches, so they name
/// their columns and read them by position in place (``StatementRow``), use cached statements, and
/// read a case's clocks and pauses in one query each.
extension CaseDesk {
    /// The columns `clock(_:pauses:)` reads, in its order.
    private static let clockColumns =
        "key, case_key, metric, started_at_ms, target_minutes, warning_percent, stopped_at_ms, state, warning_fired, breach_fired"

    private static func clock(_ row: StatementRow, pauses: [SLAClock.Pause]) -> SLAClock {
        SLAClock(
            metric: SLAMetric(rawValue: row[2]) ?? .resolution, startedAt: Date(milliseconds: row[3]), targetMinutes: row[4],
            warningPercent: row[5], pauses: pauses, stoppedAt: (row[6] as Int64?).map(Date.init(milliseconds:)),
            state: SLAState(rawValue: row[7]) ?? .inProgress, warningFired: row[8], breachFired: row[9])
    }

    private static func pause(start: Int64, end: Int64?) -> SLAClock.Pause {
        SLAClock.Pause(start: Date(milliseconds: start), end: end.map(Date.init(milliseconds:)))
    }

    func loadClock(key: Int64, _ db: Database) throws -> (clock: SLAClock, caseKey: Int64) {
        let pauses = try StatementRow.readAll(
            db.cachedStatement(sql: "SELECT start_ms, end_ms FROM sla_pause WHERE clock_key = ? ORDER BY key"), arguments: [key]
        ) { Self.pause(start: $0[0], end: $0[1]) }
        return try StatementRow.readFirst(db.cachedStatement(sql: "SELECT \(Self.clockColumns) FROM sla_clock WHERE key = ?"), arguments: [key]) { row in
            (Self.clock(row, pauses: pauses), row[1] as Int64)
        }!
    }

    /// A case's clocks, oldest first, with their pauses.
    func loadClocks(caseKey: Int64, _ db: Database) throws -> [(key: Int64, clock: SLAClock)] {
        let pauseRows = try StatementRow.readAll(
            db.cachedStatement(
                sql: """
                    SELECT p.clock_key, p.start_ms, p.end_ms FROM sla_pause p JOIN sla_clock c ON c.key = p.clock_key
                    WHERE c.case_key = ? ORDER BY p.key
                    """),
            arguments: [caseKey]
        ) { row in (clock: row[0] as Int64, pause: Self.pause(start: row[1], end: row[2])) }
        let pauses = Dictionary(grouping: pauseRows, by: \.clock).mapValues { $0.map(\.pause) }
        return try StatementRow.readAll(
            db.cachedStatement(sql: "SELECT \(Self.clockColumns) FROM sla_clock WHERE case_key = ? ORDER BY key"), arguments: [caseKey]
        ) { row in
            let key: Int64 = row[0]
            return (key, Self.clock(row, pauses: pauses[key] ?? []))
        }
    }

    func loadCase(key: Int64, calendars: CalendarBook, _ db: Database) throws -> Crm_Servicedesk_V1_Case {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT kind, category, channel, priority, customer_id, customer_value_grade, account_ref, subject, description,
                            queue, assignee, status, version, opened_at_ms, closed_at_ms, branch_id, escalation_level, resolved_at_ms,
                            root_cause, resolution_code, compensation_minor, compensation_currency, satisfaction_score,
                            satisfaction_comment, satisfaction_at_ms, satisfaction_via, parent_key, duplicate_of_key
                        FROM service_case WHERE key = ?
                        """),
                arguments: [key])
        else { throw Self.notFound(Self.caseID(key)) }
        var found = Crm_Servicedesk_V1_Case()
        found.id = Self.caseID(key)
        found.kind = Crm_Servicedesk_V1_CaseKind(rawValue: row[0]) ?? .unspecified
        found.category = row[1]
        found.channel = Crm_Servicedesk_V1_CaseChannel(rawValue: row[2]) ?? .unspecified
        found.priority = Crm_Servicedesk_V1_CasePriority(rawValue: row[3]) ?? .unspecified
        found.customerID = row[4]
        found.customerValueGrade = row[5]
        found.accountRef = row[6]
        found.subject = row[7]
        found.description_p = row[8]
        found.queue = row[9]
        found.assignee = row[10]
        found.status = (CaseStatus(rawValue: row[11]) ?? .new).proto
        found.version = row[12]
        found.openedAt.milliseconds = row[13]
        if let closedAt: Int64 = row[14] { found.closedAt.milliseconds = closedAt }
        found.branchID = row[15]
        found.escalationLevel = row[16]
        if let resolvedAt = row[17] as Int64? {
            found.resolvedAt.milliseconds = resolvedAt
            found.resolution.rootCause = row[18]
            found.resolution.resolutionCode = row[19]
            found.resolution.compensationMinor = row[20]
            found.resolution.compensationCurrency = row[21]
        }
        if let score = row[22] as UInt32?, score > 0 {
            found.satisfaction.score = score
            found.satisfaction.comment = row[23]
            if let recordedAt: Int64 = row[24] { found.satisfaction.recordedAt.milliseconds = recordedAt }
            found.satisfaction.via = row[25]
        }
        if let parent = row[26] as Int64? { found.parentCaseID = Self.caseID(parent) }
        if let duplicateOf = row[27] as Int64? { found.duplicateOfID = Self.caseID(duplicateOf) }
        found.articleIds = try Int64.fetchAll(
            db.cachedStatement(sql: "SELECT article_key FROM case_article WHERE case_key = ? ORDER BY linked_at_ms, article_key"), arguments: [key]
        ).map(KnowledgeBase.articleID)

        let calendar = try calendars.calendar(forBranch: found.branchID, db)
        let at = now()
        found.slas = try loadClocks(caseKey: key, db).map { _, clock in
            var sla = Crm_Servicedesk_V1_SlaClock()
            sla.metric = clock.metric.proto
            sla.state = clock.state.proto
            sla.targetMinutes = UInt32(clock.targetMinutes)
            sla.startedAt.milliseconds = clock.startedAt.milliseconds
            if let dueAt = clock.dueAt(in: calendar) { sla.dueAt.milliseconds = dueAt.milliseconds }
            if !clock.warningFired, let warningAt = clock.warningAt(in: calendar) { sla.warningAt.milliseconds = warningAt.milliseconds }
            sla.elapsedMinutes = UInt32(clock.elapsedSeconds(at: at, in: calendar) / 60)
            if let stoppedAt = clock.stoppedAt { sla.stoppedAt.milliseconds = stoppedAt.milliseconds }
            sla.pauseCount = UInt32(clock.pauses.count)
            return sla
        }
        return found
    }
}
