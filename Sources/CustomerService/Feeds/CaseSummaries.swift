public import GRDB
internal import ServiceRuntime
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI

/// Keeps `case_summary` from ServiceDesk's change feed, for the single customer view. Every
/// `case.*` and `sla.*` event carries the whole case, so applying one is an upsert of its latest
/// state (applying it again changes nothing), and a case re-keyed on a merge or unmerge moves
/// with its event. Nothing is kept for an erased customer.
public enum CaseSummaries {
    public static func apply(_ event: Crm_Feed_V1_ChangeEvent, _ db: Database) throws {
        if event.type == ErasureReports.eventType { return try ErasureReports.apply(event, db) }
        guard event.type.hasPrefix("case.") || event.type.hasPrefix("sla.") else { return }
        let changed = try Crm_Servicedesk_V1_CaseChanged(serializedBytes: event.payload)
        let found = changed.case
        guard let customerKey = try ContactHistory.customerKey(found.customerID, what: "case \(found.id)", db) else {
            try db.cachedStatement(sql: "DELETE FROM case_summary WHERE case_id = ?").execute(arguments: [found.id])
            return
        }
        let finished = [.resolved, .closed, .cancelled].contains(found.status)
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO case_summary (case_id, customer_key, kind, category, status, subject, opened_at_ms, resolved_at_ms,
                    escalation_level, sla_breached, finished, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                found.id, customerKey, name(found.kind), found.category, name(found.status), found.subject, found.openedAt.milliseconds,
                found.resolvedAt.milliseconds, found.escalationLevel, found.slas.contains { $0.state == .breached }, finished, event.at.milliseconds,
            ])
        // The contact history: the case opened, and its resolution.
        let channel: Crm_Customer_V1_InteractionChannel =
            switch found.channel {
            case .phone: .call
            case .branch: .branch
            case .web, .app: .digital
            case .regulatorReferral, .unspecified, .UNRECOGNIZED: .unspecified
            }
        if event.type == "case.opened" {
            try ContactHistory.record(
                customerKey: customerKey, channel: channel, subject: "\(name(found.kind)) \(found.id): \(found.subject)",
                outcome: "opened (\(found.category))", handledBy: "servicedesk", atMs: found.openedAt.milliseconds, source: "servicedesk:\(found.id):opened", db)
        } else if event.type == "case.transitioned", changed.event == .resolve {
            try ContactHistory.record(
                customerKey: customerKey, channel: channel, subject: "\(name(found.kind)) \(found.id): \(found.subject)",
                outcome: "resolved (\(found.resolution.resolutionCode)): \(found.resolution.rootCause)", handledBy: "servicedesk",
                atMs: found.resolvedAt.milliseconds, source: "servicedesk:\(found.id):resolved:\(found.resolvedAt.milliseconds)", db)
        }
    }

    /// The customer's cases for the view: unfinished newest first, then the latest finished; and
    /// how many are unfinished.
    static func forView(customerKey: Int64, limit: Int = 20, _ db: Database) throws -> (cases: [Crm_Customer_V1_CaseSummary], open: Int) {
        let listed = try StatementRow.readAll(
            db.cachedStatement(
                sql: """
                    SELECT case_id, kind, category, status, subject, opened_at_ms, resolved_at_ms, escalation_level, sla_breached, updated_at_ms,
                           finished
                    FROM case_summary WHERE customer_key = ? ORDER BY finished, updated_at_ms DESC, case_id DESC LIMIT ?
                    """),
            arguments: [customerKey, limit]
        ) { row -> (summary: Crm_Customer_V1_CaseSummary, finished: Bool) in
            var summary = Crm_Customer_V1_CaseSummary()
            (summary.caseID, summary.category, summary.subject) = (row[0], row[2], row[4])
            (summary.caseKind, summary.caseStatus) = (kinds[row[1]] ?? .unspecified, statuses[row[3]] ?? .unspecified)
            (summary.openedAt.milliseconds, summary.escalationLevel) = (row[5], row[7])
            let resolvedAt: Int64 = row[6]
            if resolvedAt != 0 { summary.resolvedAt.milliseconds = resolvedAt }  // 0 while open
            (summary.slaBreached, summary.updatedAt.milliseconds) = (row[8], row[9])
            return (summary, row[10])
        }
        let open = try SummaryCount.unfinished(listed.map(\.finished), limit: limit) {
            try Int.fetchOne(
                db.cachedStatement(sql: "SELECT count(*) FROM case_summary WHERE customer_key = ? AND finished = 0"), arguments: [customerKey]) ?? 0
        }
        return (listed.map(\.summary), open)
    }

    /// The names case_summary stores, back to the enums the view answers with.
    static let kinds = Dictionary(uniqueKeysWithValues: Crm_Servicedesk_V1_CaseKind.allCases.map { (name($0), $0) })
    static let statuses = Dictionary(uniqueKeysWithValues: Crm_Servicedesk_V1_CaseStatus.allCases.map { (name($0), $0) })

    /// The name case_summary stores for a kind (stable text, also in the contact history).
    static func name(_ kind: Crm_Servicedesk_V1_CaseKind) -> String {
        switch kind {
        case .complaint: "complaint"
        case .serviceRequest: "service_request"
        case .inquiry: "inquiry"
        case .unspecified, .UNRECOGNIZED: "unspecified"
        }
    }

    /// The name case_summary stores for a status.
    static func name(_ status: Crm_Servicedesk_V1_CaseStatus) -> String {
        switch status {
        case .new: "new"
        case .assigned: "assigned"
        case .inProgress: "in_progress"
        case .waitingOnCustomer: "waiting_on_customer"
        case .resolved: "resolved"
        case .closed: "closed"
        case .cancelled: "cancelled"
        case .unspecified, .UNRECOGNIZED: "unspecified"
        }
    }
}

/// How many of a customer's cases or opportunities are unfinished, for the view, which lists them
/// unfinished first: when the list did not stop at its limit, or stopped at a finished one, every
/// unfinished one is in it and the count needs no query of its own.
enum SummaryCount {
    static func unfinished(_ finished: [Bool], limit: Int, counting: () throws -> Int) rethrows -> Int {
        let listed = finished.count { !$0 }
        return finished.count >= limit && listed == finished.count ? try counting() : listed
    }
}
