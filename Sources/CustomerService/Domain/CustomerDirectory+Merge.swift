public import ServiceRuntime
internal import Foundation
public import GRDB
public import WireProtocol
public import CRMAPI

extension CustomerDirectory {
    /// Merges one customer into another: everything the merged customer holds moves to the
    /// survivor, the merged customer becomes MERGED, and the before-image of both is kept.
    public func merge(_ request: Crm_Customer_V1_MergeCustomersRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_MergeCustomersResponse {
        let survivorKey = try Self.key(request.survivorID, field: "survivorId")
        let mergedKey = try Self.key(request.mergedID, field: "mergedId")
        var problems = FieldViolations()
        let reason = problems.text(request.reason, "reason", max: 200, required: true)
        if survivorKey == mergedKey { problems.add("mergedId", "must differ from survivorId") }
        try problems.throwIfAny()

        let survivor = try loadForChange(key: survivorKey, id: request.survivorID, expectedVersion: request.survivorExpectedVersion, db)
        let merged = try loadForChange(key: mergedKey, id: request.mergedID, expectedVersion: request.mergedExpectedVersion, db)
        for customer in [survivor, merged] where customer.status != .active && customer.status != .inactive {
            throw CustomerErrors.wrongStatus(customer.id, status: customer.status, action: "merged")
        }
        guard survivor.profile.kind == merged.profile.kind else {
            throw RPCError(
                code: .failedPrecondition, message: "an individual and a corporate cannot be merged", reason: .kindMismatch,
                processing: .notProcessed)
        }

        if try Self.isInCorporateGroup(mergedKey, db) {
            throw RPCError(
                code: .failedPrecondition,
                message: "\(request.mergedID) is part of a corporate group; unlink it (and its subsidiaries) first",
                reason: .inCorporateGroup, processing: .notProcessed)
        }
        let before = try CustomerImage.capture(keys: [survivorKey, mergedKey], db)
        let time = nowMilliseconds
        try moveHoldings(from: mergedKey, to: survivorKey, db)
        try db.execute(
            sql: "UPDATE customer SET status = ?, merged_into = ?, version = version + 1, updated_at_ms = ? WHERE key = ?",
            arguments: [Crm_Customer_V1_CustomerStatus.merged.rawValue, survivorKey, time, mergedKey])
        try db.execute(sql: "UPDATE customer SET version = version + 1, updated_at_ms = ? WHERE key = ?", arguments: [time, survivorKey])
        try grading.regrade(customerKey: survivorKey, rules: try Grading.rules(db), caller: caller, atMilliseconds: time, db)
        let after = try CustomerImage.capture(keys: [survivorKey, mergedKey], db)
        try db.execute(
            sql: """
                INSERT INTO customer_merge (survivor_key, merged_key, reason, before_image, after_digest, merged_at_ms)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [survivorKey, mergedKey, reason, CustomerImage.encode(before), CustomerImage.digest(after), time])
        let mergeID = db.lastInsertedRowID
        try AuditLog.append(
            [
                .init(customerKey: survivorKey, action: "merge", field: "absorbed", before: "", after: request.mergedID),
                .init(customerKey: survivorKey, action: "merge", field: "reason", before: "", after: reason),
                .init(customerKey: mergedKey, action: "merge", field: "status", before: merged.status.name, after: "MERGED"),
                .init(customerKey: mergedKey, action: "merge", field: "mergedInto", before: "", after: request.survivorID),
            ],
            caller: caller, atMilliseconds: time, db)
        var response = Crm_Customer_V1_MergeCustomersResponse()
        response.mergeID = UInt64(mergeID)
        response.survivor = try view(key: survivorKey, caller: caller, db)
        return response
    }

    /// Undoes a merge by restoring both customers' before-image, if neither changed since: the
    /// content as it was, under a new version one above the merged one.
    public func unmerge(_ request: Crm_Customer_V1_UnmergeCustomersRequest, caller: Caller, _ db: Database) throws -> Crm_Customer_V1_UnmergeCustomersResponse {
        var problems = FieldViolations()
        let reason = problems.text(request.reason, "reason", max: 200, required: true)
        if request.mergeID == 0 || request.mergeID > UInt64(Int64.max) { problems.add("mergeId", "is required") }
        try problems.throwIfAny()
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM customer_merge WHERE merge_id = ?", arguments: [Int64(request.mergeID)]) else {
            throw RPCError(code: .notFound, message: "no merge \(request.mergeID)", reason: .mergeNotFound, processing: .notProcessed)
        }
        guard (row["unmerged_at_ms"] as Int64?) == nil else {
            throw RPCError(
                code: .failedPrecondition, message: "merge \(request.mergeID) was already undone", reason: .alreadyUnmerged,
                processing: .notProcessed)
        }
        let survivorKey: Int64 = row["survivor_key"]
        let mergedKey: Int64 = row["merged_key"]
        let current = try CustomerImage.capture(keys: [survivorKey, mergedKey], db)
        guard CustomerImage.digest(current) == (row["after_digest"] as Data) else {
            throw RPCError(
                code: .failedPrecondition,
                message: "\(CustomerRecords.customerID(survivorKey)) or \(CustomerRecords.customerID(mergedKey)) changed after merge \(request.mergeID); undo those changes or edit the customers by hand",
                reason: .changedSinceMerge, processing: .notProcessed)
        }
        let before = try CustomerImage.decode(row["before_image"])
        // The content goes back exactly; the versions go forward. A version seen while merged must
        // not be current again (an update naming it would be a lost update), and a consumer that
        // keeps the highest version it saw must take the restored customers as newer.
        let versions = try Dictionary(
            uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT key, version FROM customer WHERE key IN (?, ?)", arguments: [survivorKey, mergedKey])
                .map { ($0["key"] as Int64, $0["version"] as Int64) })
        try CustomerImage.restore(before, keys: [survivorKey, mergedKey], db)
        let time = nowMilliseconds
        for (key, version) in versions {
            try db.execute(sql: "UPDATE customer SET version = ?, updated_at_ms = ? WHERE key = ?", arguments: [version + 1, time, key])
        }
        try db.execute(sql: "UPDATE customer_merge SET unmerged_at_ms = ? WHERE merge_id = ?", arguments: [time, Int64(request.mergeID)])
        let mergedID = CustomerRecords.customerID(mergedKey)
        try AuditLog.append(
            [
                .init(customerKey: survivorKey, action: "unmerge", field: "absorbed", before: mergedID, after: ""),
                .init(customerKey: survivorKey, action: "unmerge", field: "reason", before: "", after: reason),
                .init(customerKey: mergedKey, action: "unmerge", field: "status", before: "MERGED", after: "restored"),
            ],
            caller: caller, atMilliseconds: time, db)
        var response = Crm_Customer_V1_UnmergeCustomersResponse()
        response.survivor = try view(key: survivorKey, caller: caller, db)
        response.restored = try view(key: mergedKey, caller: caller, db)
        return response
    }

    /// Moves every per-customer row to the survivor, after the survivor's own (positions follow on,
    /// and a contact that would be a second primary of its kind stops being primary).
    private func moveHoldings(from mergedKey: Int64, to survivorKey: Int64, _ db: Database) throws {
        // A survivor already in a household stays in its own; the merged record's membership ends.
        try db.execute(
            sql: "DELETE FROM household_member WHERE customer_key = ? AND EXISTS (SELECT 1 FROM household_member WHERE customer_key = ?)",
            arguments: [mergedKey, survivorKey])
        // An account both held (say as joint owners) stays the survivor's, in the survivor's role.
        try db.execute(
            sql: """
                DELETE FROM account_holder WHERE customer_key = ?
                AND account_number IN (SELECT account_number FROM account_holder WHERE customer_key = ?)
                """,
            arguments: [mergedKey, survivorKey])
        for table in CustomerImage.childTables {
            if table.positioned {
                let offset = try Int64.fetchOne(
                    db, sql: "SELECT COALESCE(MAX(position) + 1, 0) FROM \(table.name) WHERE customer_key = ?", arguments: [survivorKey]) ?? 0
                try db.execute(
                    sql: "UPDATE \(table.name) SET customer_key = ?, position = position + ? WHERE customer_key = ?",
                    arguments: [survivorKey, offset, mergedKey])
            } else {
                try db.execute(sql: "UPDATE \(table.name) SET customer_key = ? WHERE customer_key = ?", arguments: [survivorKey, mergedKey])
            }
        }
        // A phone, email or address both records had is kept once, as the survivor's.
        try db.execute(
            sql: """
                DELETE FROM customer_contact WHERE customer_key = ? AND key IN (
                    SELECT later.key FROM customer_contact later JOIN customer_contact earlier
                    ON earlier.customer_key = later.customer_key AND earlier.position < later.position AND earlier.kind = later.kind
                        AND earlier.value = later.value AND earlier.line1 = later.line1 AND earlier.line2 = later.line2
                        AND earlier.city = later.city AND earlier.province = later.province
                        AND earlier.postal_code = later.postal_code AND earlier.country = later.country
                    WHERE later.customer_key = ?)
                """,
            arguments: [survivorKey, survivorKey])
        try db.execute(
            sql: """
                UPDATE customer_contact SET is_primary = 0
                WHERE customer_key = ? AND is_primary = 1 AND key NOT IN (
                    SELECT MIN(key) FROM customer_contact WHERE customer_key = ? AND is_primary = 1 GROUP BY kind)
                """,
            arguments: [survivorKey, survivorKey])
    }
}
