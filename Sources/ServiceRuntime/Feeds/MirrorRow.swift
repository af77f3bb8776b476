public import GRDB

/// Writes a mirrored entity's row touching only what changed. A feed event carries the whole
/// entity, and most events change one or two columns (an e-mail address, the payload, a time).
/// `INSERT OR REPLACE`, or an upsert that sets every column, makes SQLite rewrite the row and every
/// index on the table even when no indexed value changed: on Marketing's customer mirror (five
/// indexes) that was 9 pages written to the WAL an event against 1 with only the changed columns
/// set (64 events a transaction, the history of docs/BENCHMARKS.md, "The mirrors' share of an update").
public enum MirrorRow {
    /// The whole row of `table` whose `keyColumn` is `key` (nil if there is none): every column a
    /// ``write(_:keyColumn:key:values:previous:_:)`` may compare, without a second list of them.
    public static func fetch(_ table: String, keyColumn: String, key: some DatabaseValueConvertible, _ db: Database) throws -> Row? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM \(table) WHERE \(keyColumn) = ?"), arguments: [key])
    }

    /// Inserts the row if `previous` is nil; otherwise updates only the columns whose value differs
    /// from `previous` (as read by ``fetch(_:keyColumn:key:_:)`` in the same transaction),
    /// and nothing at all if none does. Returns whether anything was written.
    @discardableResult
    public static func write(
        _ table: String, keyColumn: String, key: some DatabaseValueConvertible,
        values: KeyValuePairs<String, (any DatabaseValueConvertible)?>, previous: Row?, _ db: Database
    ) throws -> Bool {
        guard let previous else {
            let columns = [keyColumn] + values.map(\.key)
            let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
            try db.cachedStatement(sql: "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders))")
                .execute(arguments: StatementArguments([key.databaseValue] + values.map { $0.value?.databaseValue ?? .null }))
            return true
        }
        let changed = values.filter { column, value in
            (previous[column] as DatabaseValue?) != (value?.databaseValue ?? .null)
        }
        guard !changed.isEmpty else { return false }
        // One statement per set of changed columns; events of one kind change the same few.
        try db.cachedStatement(
            sql: "UPDATE \(table) SET \(changed.map { "\($0.key) = ?" }.joined(separator: ", ")) WHERE \(keyColumn) = ?"
        ).execute(arguments: StatementArguments(changed.map { $0.value?.databaseValue ?? .null } + [key.databaseValue]))
        return true
    }
}
