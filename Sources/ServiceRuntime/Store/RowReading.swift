public import GRDB
internal import GRDBSQLite
internal import NIOPosix

/// The row a statement is on, read in place: `row["name"]` or `row[index]` decode the column
/// straight from SQLite, as GRDB's own row does.
///
/// Use ``readAll(_:arguments:_:)`` and ``readFirst(_:arguments:_:)`` instead of
/// `Row.fetchAll(...).map` or `Row.fetchCursor` on hot paths. GRDB 7.10 builds a dictionary of
/// lowercased column names for every cursor it opens (and a copied row lowercases every column
/// name on every lookup); on the customer view, a dozen small queries, that was a seventh of the
/// view's time. Here the name-to-index table is built once per prepared statement and looked up
/// by the exact name, falling back to SQLite's case-insensitive match.
///
/// A value must not be kept beyond the closure it is given to: the statement moves on.
public struct StatementRow {
    @usableFromInline let sqliteStatement: SQLiteStatement
    @usableFromInline let columns: ColumnIndex

    /// The column's value. A column that is missing, or NULL or of the wrong type where the
    /// value is not optional, is a programming error and stops the process (as GRDB's row does).
    @inlinable
    public subscript<Value: DatabaseValueConvertible & StatementColumnConvertible>(_ column: String) -> Value {
        self[columns.index(of: column)]
    }

    @inlinable
    public subscript<Value: DatabaseValueConvertible & StatementColumnConvertible>(_ index: Int) -> Value {
        guard let value = Value.fromStatement(sqliteStatement, atUncheckedIndex: CInt(index)) else {
            preconditionFailure("column \(columns.names[index]) does not hold a \(Value.self)")
        }
        return value
    }
}

extension StatementRow {
    /// Every row of `statement`, each turned into a value by `read` while the statement is on it.
    public static func readAll<T>(
        _ statement: Statement, arguments: StatementArguments = StatementArguments(), _ read: (StatementRow) throws -> T
    ) throws -> [T] {
        let cursor = try StepCursor(statement, arguments: arguments)
        let row = StatementRow(sqliteStatement: statement.sqliteStatement, columns: ColumnIndex.of(statement))
        var values: [T] = []
        while try cursor.next() != nil { values.append(try read(row)) }
        return values
    }

    /// The first row of `statement` turned into a value by `read`, or nil when there is none.
    public static func readFirst<T>(
        _ statement: Statement, arguments: StatementArguments = StatementArguments(), _ read: (StatementRow) throws -> T
    ) throws -> T? {
        let cursor = try StepCursor(statement, arguments: arguments)
        guard try cursor.next() != nil else { return nil }
        return try read(StatementRow(sqliteStatement: statement.sqliteStatement, columns: ColumnIndex.of(statement)))
    }

    /// ``readAll(_:arguments:_:)`` for a statement made from `sql` (not cached).
    public static func readAll<T>(
        _ db: Database, sql: String, arguments: StatementArguments = StatementArguments(), _ read: (StatementRow) throws -> T
    ) throws -> [T] {
        try readAll(db.makeStatement(sql: sql), arguments: arguments, read)
    }

    /// ``readFirst(_:arguments:_:)`` for a statement made from `sql` (not cached).
    public static func readFirst<T>(
        _ db: Database, sql: String, arguments: StatementArguments = StatementArguments(), _ read: (StatementRow) throws -> T
    ) throws -> T? {
        try readFirst(db.makeStatement(sql: sql), arguments: arguments, read)
    }
}

/// Steps a statement through GRDB (so its transaction tracking and errors apply) without making
/// rows; resets the statement when done, as GRDB's cursors do.
private final class StepCursor: DatabaseCursor {
    typealias Element = Void
    let _statement: Statement
    var _isDone = false

    init(_ statement: Statement, arguments: StatementArguments) throws {
        _statement = statement
        try statement.setArguments(arguments)
    }

    deinit {
        // Releases the statement's read of the database as soon as the caller is done with it. An
        // error here repeats the failed step's, already thrown.
        sqlite3_reset(_statement.sqliteStatement)
    }

    func _element(sqliteStatement: SQLiteStatement) {}
}

/// A prepared statement's column names and their indexes, built once per statement.
public final class ColumnIndex: Sendable {
    public let names: [String]
    private let exact: [String: Int]

    init(names: [String]) {
        self.names = names
        self.exact = Dictionary(names.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first })
    }

    /// The leftmost column called `name`, compared exactly, then without regard to case (SQLite's rule).
    @usableFromInline
    func index(of name: String) -> Int {
        if let index = exact[name] { return index }
        let lowercased = name.lowercased()
        guard let index = names.firstIndex(where: { $0.lowercased() == lowercased }) else {
            preconditionFailure("no column \(name) among \(names)")
        }
        return index
    }

    /// Statements are identified by object; an entry whose statement is gone is rebuilt, so a new
    /// statement at a reused address never inherits another's columns. GRDB drops its cached
    /// statements when the schema changes, which takes their entries with them.
    ///
    /// One table per thread, not one behind a lock: the store's reader threads look up a dozen
    /// statements per customer view each, and with one shared lock they queued on it (4% of all the
    /// machine's samples with customer views on the readers at 2,400 a second, most of it threads
    /// waking each other: the history of docs/BENCHMARKS.md, "Column tables and connections per reader thread"). A
    /// connection is used by one thread at a time, and a statement that several threads meet has an
    /// entry in each.
    private static let cache = ThreadSpecificVariable<Cache>()

    /// Touched only by the thread it belongs to.
    private final class Cache: @unchecked Sendable {
        var entries: [ObjectIdentifier: Entry] = [:]
    }

    private struct Entry {
        weak var statement: Statement?
        let columns: ColumnIndex
    }

    static func of(_ statement: Statement) -> ColumnIndex {
        let cache: Cache
        if let existing = Self.cache.currentValue {
            cache = existing
        } else {
            cache = Cache()
            Self.cache.currentValue = cache
        }
        let id = ObjectIdentifier(statement)
        if let entry = cache.entries[id], entry.statement === statement { return entry.columns }
        let columns = ColumnIndex(names: statement.columnNames)
        if cache.entries.count >= 1024 { cache.entries = cache.entries.filter { $0.value.statement != nil } }
        cache.entries[id] = Entry(statement: statement, columns: columns)
        return columns
    }
}
