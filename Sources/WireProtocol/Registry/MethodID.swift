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
