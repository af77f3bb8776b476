internal import GRDB

/// Each customer's assets as the feed reported them, for the balance-drop warning, kept as a step
/// function: a row only where the assets changed, so the assets held at any moment are those of the
/// last row at or before it. Rows before the one in force when the balance window opens are deleted.
enum AssetSnapshots {
    /// The assets of the customer's last row; nil if there is none.
    static func latest(of customerID: String, _ db: Database) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT assets_minor FROM asset_snapshot WHERE customer_id = ? ORDER BY at_ms DESC, key DESC LIMIT 1"),
            arguments: [customerID])
    }

    /// Appends the customer's new assets and returns the highest they were within the `windowDays`
    /// before `atMs`, counting what was held when the window opened (nil before the first row).
    static func append(_ customerID: String, assets: Int64, atMs: Int64, windowDays: UInt32, _ db: Database) throws -> Int64? {
        let windowStart = atMs - Int64(windowDays) * 86_400_000
        let heldAtStart = try Row.fetchOne(
            db.cachedStatement(
                sql: "SELECT assets_minor, at_ms FROM asset_snapshot WHERE customer_id = ? AND at_ms < ? ORDER BY at_ms DESC, key DESC LIMIT 1"),
            arguments: [customerID, windowStart])
        if let heldAtStart {
            try db.cachedStatement(sql: "DELETE FROM asset_snapshot WHERE customer_id = ? AND at_ms < ?")
                .execute(arguments: [customerID, heldAtStart[1] as Int64])
        }
        let highestWithin = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT max(assets_minor) FROM asset_snapshot WHERE customer_id = ? AND at_ms >= ?"),
            arguments: [customerID, windowStart])
        try db.cachedStatement(sql: "INSERT INTO asset_snapshot (customer_id, at_ms, assets_minor) VALUES (?, ?, ?)")
            .execute(arguments: [customerID, atMs, assets])
        let held: Int64? = heldAtStart?[0]
        return [held, highestWithin].compactMap { $0 }.max()
    }
}
