/// A stable numeric error code, numerically identical to gRPC's canonical codes
/// (`crm.wire.v1.ErrorCode`). A struct rather than an enum so that a code added later never breaks
/// a caller's exhaustive switch, and an unknown code from a newer peer is kept, not lost.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let ok = ErrorCode(rawValue: 0)
    public static let cancelled = ErrorCode(rawValue: 1)
    public static let unknown = ErrorCode(rawValue: 2)
    public static let invalidArgument = ErrorCode(rawValue: 3)
    public static let deadlineExceeded = ErrorCode(rawValue: 4)
    public static let notFound = ErrorCode(rawValue: 5)
    public static let alreadyExists = ErrorCode(rawValue: 6)
    public static let permissionDenied = ErrorCode(rawValue: 7)
    public static let resourceExhausted = ErrorCode(rawValue: 8)
    public static let failedPrecondition = ErrorCode(rawValue: 9)
    public static let aborted = ErrorCode(rawValue: 10)
    public static let outOfRange = ErrorCode(rawValue: 11)
    public static let unimplemented = ErrorCode(rawValue: 12)
    public static let `internal` = ErrorCode(rawValue: 13)
    public static let unavailable = ErrorCode(rawValue: 14)
    public static let dataLoss = ErrorCode(rawValue: 15)
    public static let unauthenticated = ErrorCode(rawValue: 16)

    private static let names = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ]

    /// The canonical name, e.g. `INVALID_ARGUMENT`, or `CODE_<n>` for a code this version does not know.
    public var description: String {
        rawValue < Self.names.count ? Self.names[Int(rawValue)] : "CODE_\(rawValue)"
    }

    /// The code with the given canonical name.
    public init?(name: String) {
        guard let index = Self.names.firstIndex(of: name) else { return nil }
        self.init(rawValue: UInt32(index))
    }
}
