public import GRDB

extension Row {
    /// Every row of `statement`, each turned into a value by `read` while the statement is on it.
    ///
    /// Use this instead of `Row.fetchAll(...).map` on hot paths: a row GRDB copies out of a
    /// statement finds a column by name by lowercasing every column name in turn, on every lookup;
    /// a row read in place finds it in the statement's index. With `SELECT *` on a wide table and
    /// twenty lookups a row, that was a tenth of a customer view's time. `read` must not keep
    /// the row.
    public static func readAll<T>(
        _ statement: Statement, arguments: StatementArguments = StatementArguments(), _ read: (Row) throws -> T
    ) throws -> [T] {
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        var values: [T] = []
        while let row = try cursor.next() { values.append(try read(row)) }
        return values
    }

    /// The first row of `statement` turned into a value by `read` (see ``readAll(_:arguments:_:)``),
    /// or nil when there is none.
    public static func readFirst<T>(
        _ statement: Statement, arguments: StatementArguments = StatementArguments(), _ read: (Row) throws -> T
    ) throws -> T? {
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        guard let row = try cursor.next() else { return nil }
        return try read(row)
    }
}

extension Row {
    /// ``readAll(_:arguments:_:)`` for a statement made from `sql` (not cached).
    public static func readAll<T>(
        _ db: Database, sql: String, arguments: StatementArguments = StatementArguments(), _ read: (Row) throws -> T
    ) throws -> [T] {
        try readAll(db.makeStatement(sql: sql), arguments: arguments, read)
    }

    /// ``readFirst(_:arguments:_:)`` for a statement made from `sql` (not cached).
    public static func readFirst<T>(
        _ db: Database, sql: String, arguments: StatementArguments = StatementArguments(), _ read: (Row) throws -> T
    ) throws -> T? {
        try readFirst(db.makeStatement(sql: sql), arguments: arguments, read)
    }
}
