internal import Crypto
internal import Foundation
internal import GRDB
internal import ServiceRuntime

/// The append-only, hash-chained audit logs: every change to customer data, in
/// the customer database (``Chain/changes``), and every read of unmasked personal data, in the
/// access log's own database file (``Chain/access``, ``AccessLog``). Both chains are built alike.
///
/// Each row's hash covers its sequence number, time, caller, customer, action, field, the SHA-256
/// digests of its before and after values, and the previous row's hash. Changing, deleting or
/// reordering a row therefore breaks the chain at that row, and `audit_head` (updated in the same
/// transaction) reveals rows cut off the end. The chain covers the values' digests rather than the
/// values so that an erasure can later blank a personal value without breaking the chain.
/// Triggers refuse UPDATE and DELETE; the chain catches whoever drops them.
enum AuditLog {
    struct Entry: Sendable {
        var customerKey: Int64
        var action: String
        var field: String
        var before: String
        var after: String
    }

    /// The tables of one chain.
    struct Chain: Sendable {
        /// The rows.
        let table: String
        /// The one-row table holding the last row's sequence and hash.
        let head: String
        /// Whether rows hold personal values that an erasure may blank (the access log holds none).
        let mayBeRedacted: Bool
        /// The statements of ``AuditLog/append(_:caller:atMilliseconds:to:_:)``, made once: it runs
        /// for every change and every unmasked read, and building the text each time cost a string
        /// allocation per statement before the statement cache was even asked.
        let readHeadSQL: String
        let insertSQL: String
        let writeHeadSQL: String

        init(table: String, head: String, mayBeRedacted: Bool) {
            (self.table, self.head, self.mayBeRedacted) = (table, head, mayBeRedacted)
            readHeadSQL = "SELECT sequence, hash FROM \(head) WHERE id = 1"
            insertSQL = """
                INSERT INTO \(table) (sequence, at_ms, caller_system, end_user, request_id, customer_key, action, field,
                                       before, after, before_digest, after_digest, prev_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            writeHeadSQL =
                "INSERT INTO \(head) (id, sequence, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash"
        }

        static let changes = Chain(table: "audit_log", head: "audit_head", mayBeRedacted: true)
        static let access = Chain(table: "access_log", head: "access_head", mayBeRedacted: false)
    }

    static let genesisHash = Data(repeating: 0, count: 32)

    /// What an erased customer's personal values in the log become. The row's digests, and so the
    /// chain, are kept; verification accepts the marker only on rows of ERASED customers.
    static let erasedMarker = Erasure.marker

    /// Blanks the before and after values of a customer's rows (erasure), inside the caller's transaction.
    static func redact(customerKey: Int64, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                UPDATE audit_log SET
                    before = CASE WHEN before = '' THEN before ELSE ? END,
                    after = CASE WHEN after = '' THEN after ELSE ? END
                WHERE customer_key = ? AND (before != '' OR after != '')
                """).execute(arguments: [erasedMarker, erasedMarker, customerKey])
    }

    static func createTables(_ db: Database, chain: Chain = .changes) throws {
        let (table, head) = (chain.table, chain.head)
        try db.execute(
            sql: """
                CREATE TABLE \(table) (
                    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                    at_ms INTEGER NOT NULL,
                    caller_system TEXT NOT NULL,
                    end_user TEXT NOT NULL,
                    request_id TEXT NOT NULL,
                    customer_key INTEGER NOT NULL,
                    action TEXT NOT NULL,
                    field TEXT NOT NULL,
                    before TEXT NOT NULL,
                    after TEXT NOT NULL,
                    before_digest BLOB NOT NULL,
                    after_digest BLOB NOT NULL,
                    prev_hash BLOB NOT NULL,
                    hash BLOB NOT NULL
                );
                CREATE INDEX \(table)_customer ON \(table) (customer_key, sequence);
                CREATE TABLE \(head) (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    sequence INTEGER NOT NULL,
                    hash BLOB NOT NULL
                );
                CREATE TRIGGER \(table)_append_only_update BEFORE UPDATE ON \(table)
                BEGIN SELECT RAISE(ABORT, '\(table) is append-only'); END;
                CREATE TRIGGER \(table)_append_only_delete BEFORE DELETE ON \(table)
                BEGIN SELECT RAISE(ABORT, '\(table) is append-only'); END;
                """)
    }

    /// Entries one caller's request adds at one time.
    struct Record: Sendable {
        var entries: [Entry]
        var caller: Caller
        var atMilliseconds: Int64
    }

    /// Appends entries, in order, inside the caller's write transaction.
    static func append(_ entries: [Entry], caller: Caller, atMilliseconds now: Int64, to chain: Chain = .changes, _ db: Database) throws {
        try append([Record(entries: entries, caller: caller, atMilliseconds: now)], to: chain, db)
    }

    /// Appends the records' entries, in order, inside the caller's write transaction, reading and
    /// updating the chain's head once for all of them.
    static func append(_ records: [Record], to chain: Chain, _ db: Database) throws {
        guard records.contains(where: { !$0.entries.isEmpty }) else { return }
        let head = try StatementRow.readFirst(db.cachedStatement(sql: chain.readHeadSQL)) { row in
            (sequence: row[0] as Int64, hash: row[1] as Data)
        }
        var previous = head?.hash ?? genesisHash
        var sequence = head?.sequence ?? 0
        let insert = try db.cachedStatement(sql: chain.insertSQL)
        for record in records {
            let (caller, now) = (record.caller, record.atMilliseconds)
            for entry in record.entries {
                sequence += 1
                let beforeDigest = digest(entry.before)
                let afterDigest = digest(entry.after)
                let hash = chainHash(
                    sequence: sequence, atMilliseconds: now, caller: caller, customerKey: entry.customerKey, action: entry.action,
                    field: entry.field, beforeDigest: beforeDigest, afterDigest: afterDigest, previous: previous)
                try insert.execute(arguments: [
                    sequence, now, caller.system, caller.endUser, caller.requestID, entry.customerKey, entry.action, entry.field,
                    entry.before, entry.after, beforeDigest, afterDigest, previous, hash,
                ])
                previous = hash
            }
        }
        try db.cachedStatement(sql: chain.writeHeadSQL).execute(arguments: [sequence, previous])
    }

    struct Verification: Sendable, Equatable {
        var rowsChecked: UInt64
        /// nil if the chain is intact.
        var firstBrokenSequence: Int64?
        var problem: String
    }

    /// Walks the whole chain in sequence order and reports the first row that does not fit.
    static func verify(_ db: Database, chain: Chain = .changes) throws -> Verification {
        var previous = genesisHash
        var checked: UInt64 = 0
        var lastSequence: Int64 = 0
        // Erased customers, and the records merged into them (still MERGED, but pseudonymised
        // with them: their display name is the marker), may carry the marker in place of values.
        let erasedStatus = 4  // Crm_Customer_V1_CustomerStatus.erased
        let rows = try Row.fetchCursor(
            db,
            sql: chain.mayBeRedacted
                ? """
                SELECT \(chain.table).*, (customer.status = \(erasedStatus) OR customer.display_name = '\(erasedMarker)') AS customer_erased
                FROM \(chain.table) LEFT JOIN customer ON customer.key = \(chain.table).customer_key ORDER BY sequence
                """
                : "SELECT *, 0 AS customer_erased FROM \(chain.table) ORDER BY sequence")
        while let row = try rows.next() {
            let sequence: Int64 = row["sequence"]
            let before: String = row["before"]
            let after: String = row["after"]
            let beforeDigest: Data = row["before_digest"]
            let afterDigest: Data = row["after_digest"]
            let prevHash: Data = row["prev_hash"]
            let hash: Data = row["hash"]
            func broken(_ problem: String) -> Verification {
                Verification(rowsChecked: checked, firstBrokenSequence: sequence, problem: problem)
            }
            guard prevHash == previous else {
                return broken("does not link to the row before it (a row was deleted, inserted or moved)")
            }
            let erased: Bool = row["customer_erased"] ?? false
            func matches(_ value: String, _ digest: Data) -> Bool {
                AuditLog.digest(value) == digest || (erased && value == erasedMarker)
            }
            guard matches(before, beforeDigest), matches(after, afterDigest) else {
                return broken("its before or after value was changed")
            }
            let caller = Caller(system: row["caller_system"], endUser: row["end_user"], role: "", requestID: row["request_id"])
            let expected = chainHash(
                sequence: sequence, atMilliseconds: row["at_ms"], caller: caller, customerKey: row["customer_key"],
                action: row["action"], field: row["field"], beforeDigest: beforeDigest, afterDigest: afterDigest, previous: prevHash)
            guard expected == hash else { return broken("its content does not match its hash (the row was changed)") }
            previous = hash
            lastSequence = sequence
            checked += 1
        }
        let head = try Row.fetchOne(db.cachedStatement(sql: "SELECT sequence, hash FROM \(chain.head) WHERE id = 1"))
        let headSequence: Int64 = head?["sequence"] ?? 0
        let headHash: Data = head?["hash"] ?? genesisHash
        guard headSequence == lastSequence, headHash == previous else {
            return Verification(
                rowsChecked: checked, firstBrokenSequence: lastSequence + 1,
                problem: "the log ends at \(lastSequence) but its head records \(headSequence) (rows were removed from the end)")
        }
        return Verification(rowsChecked: checked, firstBrokenSequence: nil, problem: "")
    }

    static func digest(_ value: String) -> Data { Data(SHA256.hash(data: Data(value.utf8))) }

    /// SHA-256 over the row's fields, each length-prefixed so that no two rows encode alike.
    static func chainHash(
        sequence: Int64, atMilliseconds: Int64, caller: Caller, customerKey: Int64, action: String, field: String,
        beforeDigest: Data, afterDigest: Data, previous: Data
    ) -> Data {
        var hasher = SHA256()
        func add(_ value: Int64) { withUnsafeBytes(of: value.bigEndian) { hasher.update(bufferPointer: $0) } }
        func add(_ data: Data) {
            add(Int64(data.count))
            hasher.update(data: data)
        }
        func add(_ text: String) { add(Data(text.utf8)) }
        add(sequence)
        add(atMilliseconds)
        add(caller.system)
        add(caller.endUser)
        add(caller.requestID)
        add(customerKey)
        add(action)
        add(field)
        add(beforeDigest)
        add(afterDigest)
        add(previous)
        return Data(hasher.finalize())
    }
}
