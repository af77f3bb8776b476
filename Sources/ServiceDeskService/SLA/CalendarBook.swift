internal import Foundation
internal import GRDB
internal import SwiftProtobuf
internal import WireProtocol
internal import CRMAPI

/// The business calendars one transaction works with: each branch's own (SetBusinessCalendar with a
/// branch id), else the default one, each read and built at most once per transaction. Not shared
/// between transactions: a calendar set in between must be seen by the next one.
final class CalendarBook {
    private var byBranch: [String: BusinessCalendar] = [:]
    private var fallback: BusinessCalendar?

    /// The calendar of `branch`: its own, else the default.
    func calendar(forBranch branch: String, _ db: Database) throws -> BusinessCalendar {
        if let known = byBranch[branch] { return known }
        let calendar: BusinessCalendar
        if !branch.isEmpty, let data = try Data.fetchOne(db.cachedStatement(sql: "SELECT definition FROM branch_calendar WHERE branch_id = ?"), arguments: [branch]) {
            calendar = try CaseDesk.calendar(from: Crm_Servicedesk_V1_SetBusinessCalendarRequest(serializedBytes: [UInt8](data)))
        } else {
            calendar = try defaultCalendar(db)
        }
        byBranch[branch] = calendar
        return calendar
    }

    /// The calendar of the case's branch.
    func calendar(forCase key: Int64, _ db: Database) throws -> BusinessCalendar {
        try calendar(forBranch: try String.fetchOne(db.cachedStatement(sql: "SELECT branch_id FROM service_case WHERE key = ?"), arguments: [key]) ?? "", db)
    }

    /// The one set without a branch, or Monday to Friday 09:00-12:00, 13:00-18:00 in Asia/Shanghai.
    private func defaultCalendar(_ db: Database) throws -> BusinessCalendar {
        if let fallback { return fallback }
        let calendar: BusinessCalendar
        if let data = try Data.fetchOne(db.cachedStatement(sql: "SELECT definition FROM business_calendar WHERE id = 1")) {
            calendar = try CaseDesk.calendar(from: Crm_Servicedesk_V1_SetBusinessCalendarRequest(serializedBytes: [UInt8](data)))
        } else {
            calendar = .weekdays(timeZone: TimeZone(identifier: "Asia/Shanghai")!)
        }
        fallback = calendar
        return calendar
    }
}
