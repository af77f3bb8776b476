public import ServiceRuntime

/// Who is calling, as the audit log records it and as masking decides by.
///
/// The calling system, role and end user are set by the gateway; the service
/// sees them only on connections it trusts to carry them. A direct, untrusted caller is recorded by
/// its certificate name, or as `direct`, and has no role, so it sees masked data.
public struct Caller: Sendable, Hashable {
    public var system: String
    public var endUser: String
    public var role: String
    /// The request's trace id, tying an audit row to the request's log line.
    public var requestID: String

    public init(system: String, endUser: String = "", role: String = "", requestID: String = "") {
        self.system = system
        self.endUser = endUser
        self.role = role
        self.requestID = requestID
    }

    public init(context: ServerCallContext) {
        let metadata = context.metadata
        self.init(
            system: metadata.callerSystem ?? context.peerIdentity ?? "direct",
            endUser: metadata.endUser ?? "",
            role: metadata.callerRole ?? "",
            requestID: Self.traceID(fromTraceparent: metadata.traceparent))
    }

    /// Roles whose work needs full identity numbers and phone numbers.
    public static let unmaskedRoles: Set<String> = ["kyc", "servicing", "risk", "compliance"]

    /// Whether this caller sees identity numbers and phone numbers in full.
    public var seesPersonalData: Bool { Self.unmaskedRoles.contains(role) }

    /// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), or "" if there is none.
    static func traceID(fromTraceparent value: String?) -> String {
        guard let value else { return "" }
        let parts = value.split(separator: "-")
        guard parts.count == 4, parts[1].utf8.count == 32 else { return "" }
        return String(parts[1])
    }
}
