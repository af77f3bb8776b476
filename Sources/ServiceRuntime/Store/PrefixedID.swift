public import GRDB
public import WireProtocol

/// How a table's AUTOINCREMENT key is shown to callers: a letter and 10 digits ("K0000000042" is
/// case 42, "O0000000007" opportunity 7). Reading one back checks the form and that the row exists.
public struct PrefixedID: Sendable {
    public let prefix: Character
    public let table: String
    public let noun: String
    public let notFoundReason: ErrorReason

    /// - Parameters:
    ///   - table: the table whose `key` column the ids name (a constant of the service's schema).
    ///   - notFoundReason: the reason of the NOT_FOUND error for an id with no row.
    public init(prefix: Character, table: String, noun: String, notFoundReason: ErrorReason) {
        self.prefix = prefix
        self.table = table
        self.noun = noun
        self.notFoundReason = notFoundReason
    }

    public func id(_ key: Int64) -> String {
        let digits = String(key)
        return String(prefix) + String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    public func notFound(_ id: String) -> RPCError {
        RPCError(code: .notFound, message: "no \(noun) \(id)", reason: notFoundReason, processing: .notProcessed)
    }

    /// ABORTED (VERSION_MISMATCH) unless the row is still at the version the caller read.
    public func checkVersion(_ id: String, current: Int64, expected: Int64) throws {
        guard current == expected else {
            throw RPCError(
                code: .aborted, message: "\(noun) \(id) is at version \(current), not \(expected); read it again and retry",
                reason: .versionMismatch, processing: .notProcessed)
        }
    }

    /// The key `id` names, if it is well formed and its row exists; NOT_FOUND otherwise.
    public func key(_ id: String, _ db: Database) throws -> Int64 {
        guard id.count == 11, id.first == prefix, let key = Int64(id.dropFirst()), key > 0,
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM \(table) WHERE key = ?"), arguments: [key]) == true
        else { throw notFound(id) }
        return key
    }
}
