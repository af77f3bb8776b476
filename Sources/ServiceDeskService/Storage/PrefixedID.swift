internal import GRDB
internal import WireProtocol

/// How a table's AUTOINCREMENT key is shown to callers: a letter and 10 digits ("K0000000042" is
/// case 42, "A0000000007" article 7). Reading one back checks the form and that the row exists.
struct PrefixedID: Sendable {
    let prefix: Character
    let table: String
    let noun: String
    let notFoundReason: String

    func id(_ key: Int64) -> String {
        let digits = String(key)
        return String(prefix) + String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    func notFound(_ id: String) -> RPCError {
        RPCError(code: .notFound, message: "no \(noun) \(id)", reason: notFoundReason, processing: .notProcessed)
    }

    /// The key `id` names, if it is well formed and its row exists; NOT_FOUND otherwise.
    func key(_ id: String, _ db: Database) throws -> Int64 {
        guard id.count == 11, id.first == prefix, let key = Int64(id.dropFirst()), key > 0,
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM \(table) WHERE key = ?"), arguments: [key]) == true
        else { throw notFound(id) }
        return key
    }
}
