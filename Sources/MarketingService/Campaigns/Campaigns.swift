internal import Foundation
public import GRDB
internal import ServiceRuntime
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI

/// Campaigns: a segment's customers turned into a target list with suppressions and a control
/// group, their responses, and the funnel against the control group. Every function runs inside
/// the caller's transaction.
public struct Campaigns: Sendable {
    public let pipeline: Pipeline

    public init(pipeline: Pipeline) {
        self.pipeline = pipeline
    }

    static let campaignIDs = PrefixedID(prefix: "M", table: "campaign", noun: "campaign", notFoundReason: .campaignNotFound)

    enum Status: Int {
        case draft = 1, scheduled, active, completed, cancelled

        var next: [Status] {
            switch self {
            case .draft: [.scheduled, .cancelled]
            case .scheduled: [.active, .cancelled]
            case .active: [.completed, .cancelled]
            case .completed, .cancelled: []
            }
        }
    }

    public func create(_ request: Crm_Marketing_V1_CreateCampaignRequest, _ db: Database) throws -> Crm_Marketing_V1_CreateCampaignResponse {
        var violations = FieldViolations()
        let name = violations.text(request.name, "name", max: 100, required: true)
        if !SegmentQuery.channels.contains(request.channel) { violations.add("channel", "must be one of \(SegmentQuery.channels.joined(separator: ", "))") }
        let product = violations.product(request.product)
        violations.amount(request.budgetMinor, currency: request.currency)
        let start = violations.date(request.startDate, "startDate", required: true)
        let end = violations.date(request.endDate, "endDate", required: true)
        if !start.isEmpty, !end.isEmpty, end < start { violations.add("endDate", "must not be before startDate") }
        if request.controlPercent > 50 { violations.add("controlPercent", "must be 0 to 50") }
        if (request.frequencyCapContacts == 0) != (request.frequencyCapDays == 0) || request.frequencyCapDays > 365 {
            violations.add("frequencyCapDays", "must be 1 to 365 with frequencyCapContacts, or both 0")
        }
        try violations.throwIfAny()
        let segment = try Segments.segmentIDs.key(request.segmentID, db)
        try db.cachedStatement(
            sql: """
                INSERT INTO campaign (name, channel, product, budget_minor, currency, start_date, end_date, status, segment_key, control_percent,
                    frequency_cap_contacts, frequency_cap_days, version, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
                """
        ).execute(arguments: [
            name, request.channel, product, request.budgetMinor, request.currency, start, end, Status.draft.rawValue, segment, request.controlPercent,
            request.frequencyCapContacts, request.frequencyCapDays, pipeline.nowMilliseconds,
        ])
        var response = Crm_Marketing_V1_CreateCampaignResponse()
        response.campaign = try load(db.lastInsertedRowID, db)
        try publish("campaign.created", response.campaign, db)
        return response
    }

    public func buildTargetList(_ request: Crm_Marketing_V1_BuildTargetListRequest, _ db: Database) throws -> Crm_Marketing_V1_BuildTargetListResponse {
        let key = try Self.campaignIDs.key(request.id, db)
        var campaign = try load(key, db)
        try check(campaign, version: request.expectedVersion)
        guard campaign.status == .draft else {
            throw RPCError(
                code: .failedPrecondition, message: "campaign \(request.id) is no longer a draft; its list is fixed", reason: .campaignNotDraft,
                processing: .notProcessed)
        }
        // The candidates: the segment's customers, active or not, so that the reasons they are left out can be counted.
        let stored = try Data.fetchOne(
            db.cachedStatement(sql: "SELECT s.filter FROM segment s JOIN campaign c ON c.segment_key = s.key WHERE c.key = ?"), arguments: [key]) ?? Data()
        let query = try SegmentQuery.compile(
            try Crm_Marketing_V1_SegmentFilter(serializedBytes: [UInt8](stored)), today: pipeline.today, activeOnly: false)
        let candidates = try Row.fetchAll(
            db,
            sql: """
                SELECT m.customer_id, m.status, m.marketing_consents,
                    EXISTS (SELECT 1 FROM case_mirror c WHERE c.customer_id = m.customer_id AND c.finished = 0
                        AND c.kind = \(Crm_Servicedesk_V1_CaseKind.complaint.rawValue))
                FROM customer_mirror m WHERE \(query.condition) ORDER BY m.customer_id
                """,
            arguments: StatementArguments(query.arguments))
        let capSince = pipeline.nowMilliseconds - Int64(campaign.frequencyCapDays) * 86_400_000
        var suppressed = Crm_Marketing_V1_Suppressed()
        var eligible: [String] = []
        for row in candidates {
            let customerID: String = row[0]
            let status = Crm_Customer_V1_CustomerStatus(rawValue: row[1]) ?? .unspecified
            if status == .merged {
                suppressed.merged += 1
            } else if status != .active {
                suppressed.deactivated += 1
            } else if !(row[2] as String).contains("," + campaign.channel + ",") {
                suppressed.noConsent += 1
            } else if row[3] as Bool {
                suppressed.openComplaint += 1
            } else if campaign.frequencyCapContacts > 0,
                try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT count(*) FROM campaign_contact WHERE customer_id = ? AND at_ms >= ?"), arguments: [customerID, capSince]
                ) ?? 0 >= Int(campaign.frequencyCapContacts)
            {
                suppressed.frequencyCap += 1
            } else {
                eligible.append(customerID)
            }
        }
        let controls = Set(Self.controlGroup(eligible, campaignID: campaign.id, percent: Int(campaign.controlPercent)))
        try db.cachedStatement(sql: "DELETE FROM campaign_member WHERE campaign_key = ?").execute(arguments: [key])
        for customerID in eligible {
            try db.cachedStatement(sql: "INSERT INTO campaign_member (campaign_key, customer_id, control) VALUES (?, ?, ?)").execute(
                arguments: [key, customerID, controls.contains(customerID)])
        }
        try db.cachedStatement(
            sql: "UPDATE campaign SET targets = ?, controls = ?, suppressed = ?, list_built = 1, version = version + 1 WHERE key = ?"
        ).execute(arguments: [eligible.count - controls.count, controls.count, Data(try suppressed.serializedBytes() as [UInt8]), key])
        campaign = try load(key, db)
        try publish("campaign.list_built", campaign, db)
        var response = Crm_Marketing_V1_BuildTargetListResponse()
        response.campaign = campaign
        return response
    }

    /// Exactly round(count * percent / 100) of `eligible` (half up), the ones with the lowest
    /// FNV-1a hash of campaign and customer id: the same list gives the same group every time, and
    /// the group does not follow the order customers were created in.
    public static func controlGroup(_ eligible: [String], campaignID: String, percent: Int) -> [String] {
        let size = (eligible.count * percent * 2 + 100) / 200
        func hash(_ customerID: String) -> UInt64 {
            var value: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in (campaignID + "/" + customerID).utf8 {
                value ^= UInt64(byte)
                value &*= 0x0000_0100_0000_01B3
            }
            return value
        }
        return Array(eligible.sorted { (hash($0), $0) < (hash($1), $1) }.prefix(size))
    }

    public func setStatus(_ request: Crm_Marketing_V1_SetCampaignStatusRequest, _ db: Database) throws -> Crm_Marketing_V1_SetCampaignStatusResponse {
        let key = try Self.campaignIDs.key(request.id, db)
        let campaign = try load(key, db)
        try check(campaign, version: request.expectedVersion)
        let current = Status(rawValue: campaign.status.rawValue) ?? .draft
        guard let target = Status(rawValue: request.status.rawValue), current.next.contains(target) else {
            throw RPCError(
                code: .failedPrecondition, message: "campaign \(request.id) cannot go from \(campaign.status) to \(request.status)",
                reason: .invalidTransition, processing: .notProcessed,
                details: ["allowed": current.next.map { String(describing: Crm_Marketing_V1_CampaignStatus(rawValue: $0.rawValue) ?? .unspecified) }
                    .joined(separator: ",")])
        }
        if target == .scheduled, try Bool.fetchOne(db.cachedStatement(sql: "SELECT list_built FROM campaign WHERE key = ?"), arguments: [key]) != true {
            throw RPCError(
                code: .failedPrecondition, message: "campaign \(request.id) has no target list yet (BuildTargetList)", reason: .noTargetList,
                processing: .notProcessed)
        }
        try db.cachedStatement(sql: "UPDATE campaign SET status = ?, version = version + 1 WHERE key = ?").execute(arguments: [target.rawValue, key])
        var response = Crm_Marketing_V1_SetCampaignStatusResponse()
        response.campaign = try load(key, db)
        try publish("campaign.status_changed", response.campaign, db)
        return response
    }

    public func recordResponse(
        _ request: Crm_Marketing_V1_RecordCampaignResponseRequest, _ db: Database
    ) throws -> Crm_Marketing_V1_RecordCampaignResponseResponse {
        var violations = FieldViolations()
        if request.response == .unspecified || request.response.rawValue > 4 { violations.add("response", "is required (a known response)") }
        try violations.throwIfAny()
        let key = try Self.campaignIDs.key(request.campaignID, db)
        guard try Int.fetchOne(db.cachedStatement(sql: "SELECT status FROM campaign WHERE key = ?"), arguments: [key]) == Status.active.rawValue else {
            throw RPCError(
                code: .failedPrecondition, message: "campaign \(request.campaignID) is not active", reason: .campaignNotActive, processing: .notProcessed)
        }
        guard let member = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT control, response FROM campaign_member WHERE campaign_key = ? AND customer_id = ?"),
            arguments: [key, request.customerID])
        else {
            throw RPCError(
                code: .notFound, message: "customer \(request.customerID) is not on campaign \(request.campaignID)'s list", reason: .notOnList,
                processing: .notProcessed)
        }
        let control: Bool = member[0]
        let previous = Crm_Marketing_V1_CampaignResponse(rawValue: member[1]) ?? .unspecified
        if control && request.response != .converted {
            throw RPCError(
                code: .failedPrecondition, message: "customer \(request.customerID) is in the control group: only a conversion is recorded",
                reason: .controlMember, processing: .notProcessed)
        }
        let at = pipeline.nowMilliseconds
        if !control {
            try db.cachedStatement(sql: "INSERT INTO campaign_contact (customer_id, campaign_key, at_ms) VALUES (?, ?, ?)").execute(
                arguments: [request.customerID, key, at])
        }
        var response = Crm_Marketing_V1_RecordCampaignResponseResponse()
        response.control = control
        response.response = Self.rank(request.response) > Self.rank(previous) ? request.response : previous
        if response.response != previous {
            try db.cachedStatement(sql: "UPDATE campaign_member SET response = ?, responded_at_ms = ? WHERE campaign_key = ? AND customer_id = ?").execute(
                arguments: [response.response.rawValue, at, key, request.customerID])
        }
        try publish("campaign.response", try load(key, db), customerID: request.customerID, response: response.response, db)
        return response
    }

    /// How far a response goes: contacted, then interested or declined, then converted.
    static func rank(_ response: Crm_Marketing_V1_CampaignResponse) -> Int {
        switch response {
        case .unspecified, .UNRECOGNIZED: 0
        case .contacted: 1
        case .interested, .declined: 2
        case .converted: 3
        }
    }

    public func report(_ request: Crm_Marketing_V1_CampaignReportRequest, _ db: Database) throws -> Crm_Marketing_V1_CampaignReportResponse {
        let key = try Self.campaignIDs.key(request.id, db)
        let campaign = try load(key, db)
        var report = Crm_Marketing_V1_CampaignReportResponse()
        report.suppressed = campaign.suppressed
        for row in try Row.fetchAll(
            db.cachedStatement(sql: "SELECT control, response, count(*) FROM campaign_member WHERE campaign_key = ? GROUP BY control, response"),
            arguments: [key])
        {
            let control: Bool = row[0]
            let response = Crm_Marketing_V1_CampaignResponse(rawValue: row[1]) ?? .unspecified
            let count = UInt32(row[2] as Int)
            if control {
                report.controls += count
                if response == .converted { report.controlsConverted += count }
                continue
            }
            report.targets += count
            // The funnel: everyone who responded was contacted; a conversion was interested first.
            if response != .unspecified { report.contacted += count }
            switch response {
            case .interested: report.interested += count
            case .declined: report.declined += count
            case .converted:
                report.interested += count
                report.converted += count
            default: break
            }
        }
        report.conversionBasisPoints = Self.basisPoints(report.converted, of: report.targets)
        report.controlConversionBasisPoints = Self.basisPoints(report.controlsConverted, of: report.controls)
        report.upliftBasisPoints = Int32(report.conversionBasisPoints) - Int32(report.controlConversionBasisPoints)
        return report
    }

    /// part / whole in basis points, rounded half up; 0 for an empty whole.
    static func basisPoints(_ part: UInt32, of whole: UInt32) -> UInt32 {
        whole == 0 ? 0 : UInt32((UInt64(part) * 20_000 + UInt64(whole)) / (2 * UInt64(whole)))
    }

    public static let exportBatch = 1_000

    /// One batch of a campaign's export: the targets after `afterCustomerID`, in id order. The first
    /// call checks that the campaign may be exported (scheduled or active).
    ///
    /// A target is exported only while still contactable: active (not merged away, deactivated or
    /// erased since the list was built), with marketing consent for the campaign's channel, and no
    /// complaint open. The list itself stays as built (responses and the funnel refer to it); a
    /// customer who complains after the list was built is simply not handed to the channel.
    public func exportBatch(campaignID: String, afterCustomerID: String, _ db: Database) throws -> [Crm_Marketing_V1_TargetListEntry] {
        let key = try Self.campaignIDs.key(campaignID, db)
        let campaign = try load(key, db)
        guard campaign.status == .scheduled || campaign.status == .active else {
            throw RPCError(
                code: .failedPrecondition, message: "campaign \(campaignID) is \(campaign.status); only a scheduled or active campaign's list is exported",
                reason: .campaignNotExportable, processing: .notProcessed)
        }
        return try StatementRow.readAll(
            db.cachedStatement(
                sql: """
                    SELECT t.customer_id, m.relationship_manager_id, m.branch_id FROM campaign_member t
                    JOIN customer_mirror m ON m.customer_id = t.customer_id
                    WHERE t.campaign_key = ? AND t.control = 0 AND t.customer_id > ?
                        AND m.status = \(Crm_Customer_V1_CustomerStatus.active.rawValue) AND instr(m.marketing_consents, ?) > 0
                        AND NOT EXISTS (SELECT 1 FROM case_mirror c WHERE c.customer_id = t.customer_id AND c.finished = 0
                            AND c.kind = \(Crm_Servicedesk_V1_CaseKind.complaint.rawValue))
                    ORDER BY t.customer_id LIMIT ?
                    """),
            arguments: [key, afterCustomerID, "," + campaign.channel + ",", Self.exportBatch]
        ) { row in
            var entry = Crm_Marketing_V1_TargetListEntry()
            (entry.campaignID, entry.customerID, entry.channel, entry.relationshipManagerID, entry.branchID) = (campaign.id, row[0], campaign.channel, row[1], row[2])
            return entry
        }
    }

    private func publish(
        _ type: String, _ campaign: Crm_Marketing_V1_Campaign, customerID: String = "", response: Crm_Marketing_V1_CampaignResponse = .unspecified,
        _ db: Database
    ) throws {
        var payload = Crm_Marketing_V1_CampaignChanged()
        (payload.campaign, payload.customerID, payload.response) = (campaign, customerID, response)
        try ChangeLog.append(type: type, entityKey: campaign.id, payload: payload, atMilliseconds: pipeline.nowMilliseconds, db)
    }

    private func check(_ campaign: Crm_Marketing_V1_Campaign, version: Int64) throws {
        try Self.campaignIDs.checkVersion(campaign.id, current: campaign.version, expected: version)
    }

    func load(_ key: Int64, _ db: Database) throws -> Crm_Marketing_V1_Campaign {
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT name, channel, product, budget_minor, currency, start_date, end_date, status, segment_key, control_percent,
                        frequency_cap_contacts, frequency_cap_days, targets, controls, suppressed, version FROM campaign WHERE key = ?
                    """),
            arguments: [key])!
        var campaign = Crm_Marketing_V1_Campaign()
        campaign.id = Self.campaignIDs.id(key)
        (campaign.name, campaign.channel, campaign.product, campaign.budgetMinor, campaign.currency) = (row[0], row[1], row[2], row[3], row[4])
        (campaign.startDate, campaign.endDate) = (row[5], row[6])
        campaign.status = Crm_Marketing_V1_CampaignStatus(rawValue: row[7]) ?? .unspecified
        campaign.segmentID = Segments.segmentIDs.id(row[8])
        (campaign.controlPercent, campaign.frequencyCapContacts, campaign.frequencyCapDays) = (row[9], row[10], row[11])
        (campaign.targets, campaign.controls) = (row[12], row[13])
        campaign.suppressed = try Crm_Marketing_V1_Suppressed(serializedBytes: [UInt8](row[14] as Data))
        campaign.version = row[15]
        return campaign
    }
}
