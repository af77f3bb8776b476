public import ServiceRuntime
internal import Foundation
public import GRDB
public import WireProtocol
public import CRMAPI

/// The batch duplicate job: every live customer checked against every other with the same signals as
/// on create, in resumable slices; the pairs found wait in `duplicate_pair` for a data steward, who
/// merges them or dismisses them for good.
extension CustomerDirectory {
    public static let maxDuplicateSlice: UInt32 = 5_000
    public static let maxDuplicatePairPage: UInt32 = 500
    public static let defaultDuplicateMinScore: UInt32 = 50

    /// What one slice found: pairs (first key < second key) with their score and reasons.
    public struct DuplicateSlice: Sendable {
        var pairs: [PairKey: (score: UInt32, reasons: [String])] = [:]
        var checked: UInt32 = 0
        var lastKey: Int64?
        var complete = false
    }

    struct PairKey: Hashable, Sendable {
        var first: Int64
        var second: Int64
    }

    /// Reads a slice of customers and their candidates; runs on a reader, so the job never holds the
    /// write lock while it searches.
    public func scanForDuplicates(_ request: Crm_Customer_V1_FindDuplicatesRequest, _ db: Database) throws -> DuplicateSlice {
        var problems = FieldViolations()
        let limit = problems.pageSize(request.limit, "limit", max: Self.maxDuplicateSlice, defaultSize: 1_000)
        if request.minScore > 100 { problems.add("minScore", "must be 0 to 100") }
        let minScore = request.minScore == 0 ? Self.defaultDuplicateMinScore : request.minScore
        var afterKey: Int64 = 0
        if !request.afterID.isEmpty {
            if let key = CustomerRecords.key(fromID: request.afterID) { afterKey = key } else { problems.add("afterId", "must be C followed by 10 digits") }
        }
        try problems.throwIfAny()
        let keys = try Int64.fetchAll(
            db, sql: "SELECT key FROM customer WHERE key > ? AND status IN (?, ?) ORDER BY key LIMIT ?",
            arguments: [afterKey, Crm_Customer_V1_CustomerStatus.active.rawValue, Crm_Customer_V1_CustomerStatus.inactive.rawValue, limit])
        var slice = DuplicateSlice()
        for key in keys {
            guard let customer = try CustomerRecords.load(key: key, db) else { continue }
            for candidate in try DuplicateFinder.candidates(for: customer.profile, excluding: key, db) where candidate.score >= minScore {
                guard let other = CustomerRecords.key(fromID: candidate.customerID) else { continue }
                slice.pairs[PairKey(first: min(key, other), second: max(key, other))] = (candidate.score, candidate.reasons)
            }
        }
        slice.checked = UInt32(keys.count)
        slice.lastKey = keys.last
        slice.complete = keys.count < limit
        return slice
    }

    /// Stores a slice's pairs: new ones open, changed open ones updated, dismissed ones left alone.
    public func storeDuplicates(_ slice: DuplicateSlice, _ db: Database) throws -> Crm_Customer_V1_FindDuplicatesResponse {
        var response = Crm_Customer_V1_FindDuplicatesResponse()
        response.customersChecked = slice.checked
        let time = nowMilliseconds
        for (pair, found) in slice.pairs.sorted(by: { ($0.key.first, $0.key.second) < ($1.key.first, $1.key.second) }) {
            let reasons = found.reasons.joined(separator: "\n")
            let existing = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT pair_id, score, reasons, status FROM duplicate_pair WHERE first_key = ? AND second_key = ?"),
                arguments: [pair.first, pair.second])
            if let existing {
                let open = existing["status"] == Crm_Customer_V1_DuplicatePairStatus.open.rawValue
                if open && (existing["score"] != Int(found.score) || existing["reasons"] != reasons) {
                    try db.execute(
                        sql: "UPDATE duplicate_pair SET score = ?, reasons = ?, updated_at_ms = ? WHERE pair_id = ?",
                        arguments: [found.score, reasons, time, existing["pair_id"]])
                    response.updatedPairs += 1
                }
            } else {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO duplicate_pair (first_key, second_key, score, reasons, status, found_at_ms, updated_at_ms)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [pair.first, pair.second, found.score, reasons, Crm_Customer_V1_DuplicatePairStatus.open.rawValue, time, time])
                response.newPairs += 1
            }
        }
        if !slice.complete, let last = slice.lastKey { response.nextAfterID = CustomerRecords.customerID(last) }
        return response
    }

    public func listDuplicatePairs(_ request: Crm_Customer_V1_ListDuplicatePairsRequest, _ db: Database) throws -> Crm_Customer_V1_ListDuplicatePairsResponse {
        var problems = FieldViolations()
        if request.minScore > 100 { problems.add("minScore", "must be 0 to 100") }
        let pageSize = problems.pageSize(request.pageSize, max: Self.maxDuplicatePairPage, defaultSize: 100)
        let afterID = problems.pageToken(request.pageToken)
        try problems.throwIfAny()
        let status: Crm_Customer_V1_DuplicatePairStatus = request.dismissed ? .dismissed : .open
        let live = [Crm_Customer_V1_CustomerStatus.active.rawValue, Crm_Customer_V1_CustomerStatus.inactive.rawValue]
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT p.* FROM duplicate_pair p
                JOIN customer a ON a.key = p.first_key JOIN customer b ON b.key = p.second_key
                WHERE p.status = ? AND p.pair_id > ? AND p.score >= ? AND a.status IN (?, ?) AND b.status IN (?, ?)
                ORDER BY p.pair_id LIMIT ?
                """,
            arguments: [status.rawValue, afterID, request.minScore, live[0], live[1], live[0], live[1], pageSize + 1])
        var response = Crm_Customer_V1_ListDuplicatePairsResponse()
        response.pairs = rows.prefix(pageSize).map(Self.duplicatePair)
        if rows.count > pageSize, let last = response.pairs.last { response.nextPageToken = PageToken.token(afterKey: Int64(last.pairID)) }
        return response
    }

    /// A data steward's decision that the two are different customers; audited on both.
    public func dismissDuplicatePair(
        _ request: Crm_Customer_V1_DismissDuplicatePairRequest, caller: Caller, _ db: Database
    ) throws -> Crm_Customer_V1_DismissDuplicatePairResponse {
        var problems = FieldViolations()
        let reason = problems.text(request.reason, "reason", max: 200, required: true)
        if request.pairID == 0 || request.pairID > UInt64(Int64.max) { problems.add("pairId", "is required") }
        try problems.throwIfAny()
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM duplicate_pair WHERE pair_id = ?", arguments: [Int64(request.pairID)]) else {
            throw RPCError(code: .notFound, message: "no duplicate pair \(request.pairID)", reason: .pairNotFound, processing: .notProcessed)
        }
        var response = Crm_Customer_V1_DismissDuplicatePairResponse()
        if row["status"] == Crm_Customer_V1_DuplicatePairStatus.dismissed.rawValue {
            response.pair = Self.duplicatePair(row)
            return response
        }
        let time = nowMilliseconds
        try db.execute(
            sql: "UPDATE duplicate_pair SET status = ?, dismissed_reason = ?, updated_at_ms = ? WHERE pair_id = ?",
            arguments: [Crm_Customer_V1_DuplicatePairStatus.dismissed.rawValue, reason, time, Int64(request.pairID)])
        let first: Int64 = row["first_key"]
        let second: Int64 = row["second_key"]
        try AuditLog.append(
            [
                .init(customerKey: first, action: "dismiss-duplicate", field: "duplicate_of", before: "", after: CustomerRecords.customerID(second)),
                .init(customerKey: second, action: "dismiss-duplicate", field: "duplicate_of", before: "", after: CustomerRecords.customerID(first)),
            ],
            caller: caller, atMilliseconds: time, db)
        let updated = try Row.fetchOne(db, sql: "SELECT * FROM duplicate_pair WHERE pair_id = ?", arguments: [Int64(request.pairID)])!
        response.pair = Self.duplicatePair(updated)
        return response
    }

    static func duplicatePair(_ row: Row) -> Crm_Customer_V1_DuplicatePair {
        var pair = Crm_Customer_V1_DuplicatePair()
        pair.pairID = UInt64(row["pair_id"] as Int64)
        pair.firstID = CustomerRecords.customerID(row["first_key"])
        pair.secondID = CustomerRecords.customerID(row["second_key"])
        pair.score = row["score"]
        pair.reasons = (row["reasons"] as String).split(separator: "\n").map(String.init)
        pair.status = .init(rawValue: row["status"]) ?? .unspecified
        pair.foundAt.milliseconds = row["found_at_ms"]
        pair.dismissedReason = row["dismissed_reason"]
        return pair
    }
}
