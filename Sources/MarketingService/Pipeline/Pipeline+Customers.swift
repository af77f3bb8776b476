public import GRDB
internal import ServiceRuntime

/// What happens to opportunities when their customer is merged or unmerged at CustomerService
/// (MarketingMirror calls these inside the transaction that applies the feed event).
extension Pipeline {
    /// Every opportunity of a merged-away customer, open or closed, now belongs to the survivor;
    /// each move is recorded so that an unmerge can undo exactly these.
    @discardableResult
    public func moveOpportunities(of mergedID: String, to survivorID: String, _ db: Database) throws -> Int {
        let keys = try Int64.fetchAll(db.cachedStatement(sql: "SELECT key FROM opportunity WHERE customer_id = ? ORDER BY key"), arguments: [mergedID])
        for key in keys {
            try db.cachedStatement(
                sql: "INSERT INTO opportunity_rekey (opportunity_key, from_customer_id, to_customer_id, at_ms) VALUES (?, ?, ?, ?)"
            ).execute(arguments: [key, mergedID, survivorID, nowMilliseconds])
            try rekey(key, to: survivorID, db)
        }
        return keys.count
    }

    /// An unmerge: the opportunities the merge moved away from `restoredID` come back (ones created
    /// for the survivor after the merge stay with it).
    @discardableResult
    public func moveOpportunitiesBack(to restoredID: String, _ db: Database) throws -> Int {
        let moves = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT key, opportunity_key FROM opportunity_rekey WHERE from_customer_id = ? AND undone_at_ms IS NULL ORDER BY key"),
            arguments: [restoredID])
        for move in moves {
            try db.cachedStatement(sql: "UPDATE opportunity_rekey SET undone_at_ms = ? WHERE key = ?").execute(arguments: [nowMilliseconds, move[0] as Int64])
            try rekey(move[1], to: restoredID, db)
        }
        return moves.count
    }

    private func rekey(_ key: Int64, to customerID: String, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE opportunity SET customer_id = ?, version = version + 1, updated_at_ms = ? WHERE key = ?").execute(
            arguments: [customerID, nowMilliseconds, key])
        try publish("opportunity.rekeyed", try load(key, probabilities: try Self.probabilities(db), db), db)
    }
}
