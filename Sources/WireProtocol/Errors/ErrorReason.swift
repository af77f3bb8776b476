/// A stable, machine-readable reason for an error, in UPPER_SNAKE_CASE (`CUSTOMER_NOT_FOUND`): what a
/// client decides on, where the message is for people. Each module declares the reasons it sends
/// as constants of this type in one file (`ProtocolReasons.swift` here, `CustomerReasons.swift` in
/// CustomerService, and so on), so that a throw names a constant, never a string, and
/// docs/PROTOCOL.md section 9.5 lists every one (a test reads the files).
public struct ErrorReason: Hashable, Sendable, CustomStringConvertible {
    /// The reason as it travels in `crm.wire.v1.Status.reason`.
    public let rawValue: String

    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    /// No reason: the code says all there is.
    public static let none = ErrorReason("")

    public var description: String { rawValue }
}
