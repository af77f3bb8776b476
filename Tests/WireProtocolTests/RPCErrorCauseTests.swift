import Testing
import WireProtocol

@Suite("RPCError causes")
struct RPCErrorCauseTests {
    struct DiskFull: Error, Sendable, Equatable {}

    final class Unsendable: Error, CustomDebugStringConvertible {
        var debugDescription: String { "Unsendable(the file was locked)" }
    }

    @Test("a cause is kept for the log, never sent, and not part of the error's equality")
    func causeStaysLocal() throws {
        let plain = RPCError(code: .unavailable, message: "storage lost", reason: .versionMismatch, processing: .notProcessed)
        let caused = RPCError(code: .unavailable, message: "storage lost", reason: .versionMismatch, processing: .notProcessed, cause: DiskFull())
        #expect(caused == plain)
        #expect(caused.hashValue == plain.hashValue)
        #expect(caused.cause as? DiskFull == DiskFull())
        #expect(plain.cause == nil)
        #expect(caused.encodedPayload == plain.encodedPayload)
        let decoded = try RPCError(payload: caused.encodedPayload)
        #expect(decoded.cause == nil && decoded == plain)
        #expect(decoded.reason == "VERSION_MISMATCH")
    }

    @Test("a cause that is not Sendable is kept as its description")
    func unsendableCause() {
        let error = RPCError(code: .internal, message: "internal error", reason: .none, cause: Unsendable())
        #expect("\(error.cause.map { String(describing: $0) } ?? "")" == "Unsendable(the file was locked)")
    }
}
