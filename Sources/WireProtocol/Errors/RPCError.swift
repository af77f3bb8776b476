public import NIOCore
internal import SwiftProtobuf

/// The error of a call or a connection: what an ERROR frame carries (a `crm.wire.v1.Status`).
///
/// Every service reports failures through this one model: a stable ``ErrorCode``, a message for
/// people, field violations for validation errors, whether the request may have had an effect, and
/// when a retry may succeed.
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    /// Stable machine-readable reason in UPPER_SNAKE_CASE, e.g. `FRAME_TOO_LARGE`; empty if none.
    /// Set from an ``ErrorReason`` constant; a string here because a peer may send one this build
    /// does not know.
    public var reason: String
    public var fieldViolations: [FieldViolation]
    public var processing: Processing
    /// When a retry may succeed, in milliseconds from receipt; nil when the sender did not say.
    public var retryAfterMilliseconds: UInt32?
    /// Set with reason `UNSUPPORTED_VERSION`: the versions the sender supports.
    public var supportedVersions: ClosedRange<UInt16>?
    public var details: [String: String]
    /// What led to this error on this side (a SQLite error, a file that could not be read), for
    /// the server's log. Never sent, and not part of the error's equality.
    public var cause: (any Error & Sendable)?

    /// - Parameter cause: the error that led to this one, logged by the server, never sent.
    public init(
        code: ErrorCode,
        message: String,
        reason: ErrorReason = .none,
        processing: Processing = .maybeProcessed,
        fieldViolations: [FieldViolation] = [],
        retryAfterMilliseconds: UInt32? = nil,
        details: [String: String] = [:],
        cause: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.reason = reason.rawValue
        self.processing = processing
        self.fieldViolations = fieldViolations
        self.retryAfterMilliseconds = retryAfterMilliseconds
        self.supportedVersions = nil
        self.details = details
        self.cause = cause.map { $0 as? any Error & Sendable ?? DescribedCause(text: String(reflecting: $0)) }
    }

    /// A cause that is not Sendable, kept as its description.
    struct DescribedCause: Error, Sendable, CustomStringConvertible {
        var text: String
        var description: String { text }
    }

    public static func == (lhs: RPCError, rhs: RPCError) -> Bool {
        (lhs.code, lhs.message, lhs.reason, lhs.processing) == (rhs.code, rhs.message, rhs.reason, rhs.processing)
            && (lhs.retryAfterMilliseconds, lhs.supportedVersions) == (rhs.retryAfterMilliseconds, rhs.supportedVersions)
            && lhs.details == rhs.details && lhs.fieldViolations == rhs.fieldViolations
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(reason)
        hasher.combine(fieldViolations)
    }

    /// Whether the failed request had, or may have had, an effect. A request that was not processed
    /// can be retried safely; one that may have been needs an idempotency key to be retried.
    public enum Processing: Hashable, Sendable {
        case maybeProcessed
        case notProcessed
    }

    public struct FieldViolation: Hashable, Sendable {
        /// The field's protobuf JSON path, e.g. `contacts[2].email`.
        public var field: String
        public var description: String

        public init(field: String, description: String) {
            self.field = field
            self.description = description
        }
    }

    public var description: String {
        var text = "\(code)"
        if !reason.isEmpty { text += " (\(reason))" }
        text += ": \(message)"
        for violation in fieldViolations { text += "; \(violation.field): \(violation.description)" }
        return text
    }
}

extension RPCError {
    /// The protobuf form sent in an ERROR frame's payload.
    public var status: Crm_Wire_V1_Status {
        var status = Crm_Wire_V1_Status()
        status.code = Crm_Wire_V1_ErrorCode(rawValue: Int(code.rawValue)) ?? .UNRECOGNIZED(Int(code.rawValue))
        status.message = message
        status.reason = reason
        status.processing = processing == .notProcessed ? .notProcessed : .maybeProcessed
        status.fieldViolations = fieldViolations.map {
            var violation = Crm_Wire_V1_FieldViolation()
            violation.field = $0.field
            violation.description_p = $0.description
            return violation
        }
        status.retryAfterMs = retryAfterMilliseconds ?? 0
        if let supportedVersions {
            status.supportedVersions.min = UInt32(supportedVersions.lowerBound)
            status.supportedVersions.max = UInt32(supportedVersions.upperBound)
        }
        status.details = details
        return status
    }

    public init(status: Crm_Wire_V1_Status) {
        let rawCode = UInt32(clamping: status.code.rawValue)
        self.init(
            code: ErrorCode(rawValue: rawCode),
            message: status.message,
            reason: ErrorReason(status.reason),
            processing: status.processing == .notProcessed ? .notProcessed : .maybeProcessed,
            fieldViolations: status.fieldViolations.map { FieldViolation(field: $0.field, description: $0.description_p) },
            retryAfterMilliseconds: status.retryAfterMs == 0 ? nil : status.retryAfterMs,
            details: status.details)
        if status.hasSupportedVersions {
            let low = UInt16(clamping: status.supportedVersions.min)
            let high = UInt16(clamping: status.supportedVersions.max)
            supportedVersions = low <= high ? low...high : nil
        }
    }

    /// The ERROR frame payload. Messages longer than ``maxMessageBytes`` are cut so that an error
    /// always fits in the smallest frame a peer may announce.
    public var encodedPayload: ByteBuffer {
        var status = self.status
        if status.message.utf8.count > Self.maxMessageBytes {
            status.message = String(status.message.truncatedUTF8(maxBytes: Self.maxMessageBytes))
        }
        // Serializing a message built from valid Swift values cannot fail.
        let bytes: [UInt8] = (try? status.serializedBytes()) ?? []
        return ByteBuffer(bytes: bytes)
    }

    /// Decodes an ERROR frame payload.
    public init(payload: ByteBuffer) throws(FrameDecodingError) {
        do {
            let status = try payload.readableBytesView.withContiguousStorageIfAvailable {
                try Crm_Wire_V1_Status(serializedBytes: Array($0))
            } ?? Crm_Wire_V1_Status(serializedBytes: Array(payload.readableBytesView))
            self.init(status: status)
        } catch {
            throw FrameDecodingError(.invalidPayload(.error, problem: "not a valid crm.wire.v1.Status"))
        }
    }

    public static let maxMessageBytes = 4096
}
