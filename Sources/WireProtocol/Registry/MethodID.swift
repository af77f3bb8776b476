/// Where a request goes: the service id and method id carried in every frame header, so a gateway
/// routes without decoding the body (docs/PROTOCOL.md, "Method registry").
public struct MethodID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var service: UInt16
    public var method: UInt16

    public init(service: UInt16, method: UInt16) {
        self.service = service
        self.method = method
    }

    /// The value connection-level frames carry: both fields zero.
    public static let none = MethodID(service: 0, method: 0)

    public static func < (lhs: MethodID, rhs: MethodID) -> Bool {
        (lhs.service, lhs.method) < (rhs.service, rhs.method)
    }

    public var description: String { "\(service)/\(method)" }
}

/// Stable service ids. A number, once given, is never reused.
public enum ServiceID {
    /// Methods every server answers (health, echo).
    public static let system: UInt16 = 1
    public static let customer: UInt16 = 2
    public static let marketing: UInt16 = 3
    public static let serviceDesk: UInt16 = 4
    /// Change feeds, answered by every server that publishes one (internal).
    public static let feed: UInt16 = 5
}
