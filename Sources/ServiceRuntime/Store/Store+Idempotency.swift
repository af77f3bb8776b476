internal import Foundation
public import GRDB
internal import NIOCore
public import SwiftProtobuf
public import WireProtocol
public import RPCTransport

extension Store {
    /// How long an idempotency key's first answer is kept and replayed.
    public static let defaultIdempotencyWindowSeconds: Int64 = 24 * 3600

    /// Runs a mutating call's `body` in one write transaction.
    ///
    /// If the call carries an idempotency key, the answer is stored with the key in the same
    /// transaction as the change, and a retry with the same key (from the same caller, within the
    /// window) gets that first answer without running `body` again. The same key with a different
    /// request is refused with FAILED_PRECONDITION (`IDEMPOTENCY_KEY_REUSED`). A `body` that throws
    /// rolls everything back and stores nothing, so a retry runs again.
    public func write<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        idempotentFor context: ServerCallContext,
        request: Request,
        windowSeconds: Int64 = Store.defaultIdempotencyWindowSeconds,
        _ body: @escaping @Sendable (Database) throws -> Response
    ) async throws -> Response {
        guard let key = context.metadata.idempotencyKey else {
            return try await write(body)
        }
        let caller = context.metadata.callerSystem ?? context.peerIdentity ?? ""
        let method = context.method.name
        let hash = Self.fingerprint(method: method, request: try request.serializedBytes())
        let now = Int64(Date().timeIntervalSince1970)
        let answer: [UInt8] = try await write { db in
            if let row = try Row.fetchOne(
                db, sql: "SELECT method, request_hash, response, created_at FROM runtime_idempotency WHERE caller = ? AND key = ?",
                arguments: [caller, key])
            {
                let createdAt: Int64 = row["created_at"]
                if now - createdAt < windowSeconds {
                    let storedHash: Data = row["request_hash"]
                    let storedMethod: String = row["method"]
                    guard storedHash == hash, storedMethod == method else {
                        throw RPCError(
                            code: .failedPrecondition,
                            message: "idempotency key \"\(key)\" was already used for a different request",
                            reason: .idempotencyKeyReused, processing: .notProcessed)
                    }
                    let stored: Data = row["response"]
                    return Array(stored)
                }
            }
            let response: [UInt8] = try body(db).serializedBytes()
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO runtime_idempotency (caller, key, method, request_hash, response, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [caller, key, method, hash, Data(response), now])
            return response
        }
        return try Response(serializedBytes: answer)
    }

    /// Deletes idempotency records older than the window. Returns how many were deleted.
    @discardableResult
    public func pruneIdempotencyKeys(olderThanSeconds window: Int64 = Store.defaultIdempotencyWindowSeconds) async throws -> Int {
        let cutoff = Int64(Date().timeIntervalSince1970) - window
        return try await write { db in
            try db.execute(sql: "DELETE FROM runtime_idempotency WHERE created_at < ?", arguments: [cutoff])
            return db.changesCount
        }
    }

    /// A 64-bit FNV-1a digest of the method and request bytes: enough to tell a retry from a
    /// different request reusing the key.
    static func fingerprint(method: String, request: [UInt8]) -> Data {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array(method.utf8) + [0] + request {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return withUnsafeBytes(of: hash.bigEndian) { Data($0) }
    }
}
