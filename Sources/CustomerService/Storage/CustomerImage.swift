internal import Crypto
internal import Foundation
internal import GRDB

/// Every stored row of a set of customers, in a canonical form: the before-image a merge keeps, and
/// the full dump tests and unmerge compare byte for byte.
///
/// The image covers the `customer` rows and every table in ``childTables``. A table added later that
/// holds per-customer rows must be added there, or merge would not move it and unmerge would not
/// restore it (a test checks the list against the schema).
enum CustomerImage {
    /// Tables with a `customer_key` column, in the order they are dumped and restored; `positioned`
    /// tables keep a per-customer `position` that a merge appends after the survivor's own.
    static let childTables: [(name: String, positioned: Bool)] = [
        ("customer_document", true), ("customer_contact", true), ("legal_hold", false),
        ("account_holder", false), ("interaction", false), ("household_member", false), ("corporate_link", false),
        ("group_credit_limit", false), ("consent_event", false), ("service_agreement", false), ("rm_assignment", false),
    ]

    /// One table's rows: column names, then each row's values.
    struct Table: Equatable {
        var name: String
        var columns: [String]
        var rows: [[DatabaseValue]]
    }

    static func capture(keys: [Int64], _ db: Database) throws -> [Table] {
        let keyList = keys.sorted().map(String.init).joined(separator: ",")
        var tables = [try table("customer", where: "key IN (\(keyList))", db)]
        for (name, _) in childTables {
            tables.append(try table(name, where: "customer_key IN (\(keyList))", db))
        }
        return tables
    }

    /// Columns that record what was published about a row rather than the row itself: outside the
    /// image, so that publishing a merge's events does not count as a change since the merge, and
    /// an unmerge does not set them back.
    static let bookkeepingColumns: Set<String> = ["published_version"]

    private static func table(_ name: String, where condition: String, _ db: Database) throws -> Table {
        let columns = try db.columns(in: name).map(\.name).filter { !bookkeepingColumns.contains($0) }
        let primaryKey = try db.primaryKey(name).columns.joined(separator: ", ")
        let rows = try Row.fetchAll(db, sql: "SELECT * FROM \(name) WHERE \(condition) ORDER BY \(primaryKey)")
        return Table(name: name, columns: columns, rows: rows.map { row in columns.map { row[$0] } })
    }

    /// Puts the rows back exactly: customer rows are overwritten column by column (other tables
    /// point at them), child rows of these customers are deleted and re-inserted with their keys.
    static func restore(_ tables: [Table], keys: [Int64], _ db: Database) throws {
        let keyList = keys.sorted().map(String.init).joined(separator: ",")
        for table in tables where table.name != "customer" {
            try db.execute(sql: "DELETE FROM \(table.name) WHERE customer_key IN (\(keyList))")
        }
        for table in tables {
            if table.name == "customer" {
                let assignments = table.columns.filter { $0 != "key" }.map { "\($0) = ?" }.joined(separator: ", ")
                let keyIndex = table.columns.firstIndex(of: "key")!
                for row in table.rows {
                    var values = row
                    let key = values.remove(at: keyIndex)
                    try db.execute(
                        sql: "UPDATE customer SET \(assignments) WHERE key = ?", arguments: StatementArguments(values + [key]))
                }
            } else {
                let placeholders = Array(repeating: "?", count: table.columns.count).joined(separator: ", ")
                let statement = try db.cachedStatement(
                    sql: "INSERT INTO \(table.name) (\(table.columns.joined(separator: ", "))) VALUES (\(placeholders))")
                for row in table.rows { try statement.execute(arguments: StatementArguments(row)) }
            }
        }
    }

    // MARK: Encoding

    /// A canonical byte form: JSON arrays only (no key order to vary), every value tagged with its
    /// storage class so that 1, 1.0, "1" and x'01' stay distinct.
    static func encode(_ tables: [Table]) -> Data {
        let object: [Any] = tables.map { table in
            [table.name, table.columns, table.rows.map { $0.map(tagged) }] as [Any]
        }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data()
    }

    static func decode(_ data: Data) throws -> [Table] {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [[Any]] else { throw imageError }
        return try object.map { entry in
            guard entry.count == 3, let name = entry[0] as? String, let columns = entry[1] as? [String],
                let rows = entry[2] as? [[[String]]]
            else { throw imageError }
            return Table(name: name, columns: columns, rows: try rows.map { try $0.map(untagged) })
        }
    }

    static func digest(_ tables: [Table]) -> Data { Data(SHA256.hash(data: encode(tables))) }

    private static let imageError = StoreImageError()
    struct StoreImageError: Error {}

    private static func tagged(_ value: DatabaseValue) -> [String] {
        switch value.storage {
        case .null: return ["n"]
        case .int64(let int): return ["i", String(int)]
        case .double(let double): return ["r", String(double.bitPattern)]
        case .string(let string): return ["s", string]
        case .blob(let data): return ["b", data.base64EncodedString()]
        }
    }

    private static func untagged(_ value: [String]) throws -> DatabaseValue {
        switch (value.first, value.count) {
        case ("n", 1): return .null
        case ("i", 2): if let int = Int64(value[1]) { return int.databaseValue }
        case ("r", 2): if let bits = UInt64(value[1]) { return Double(bitPattern: bits).databaseValue }
        case ("s", 2): return value[1].databaseValue
        case ("b", 2): if let data = Data(base64Encoded: value[1]) { return data.databaseValue }
        default: break
        }
        throw imageError
    }
}
