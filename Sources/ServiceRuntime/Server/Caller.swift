
public import WireProtocol
public import RPCTransport

/// Who is calling, as the audit log records it, and how it sees personal data.
///
/// The calling system, role, end user and masking are set by the gateway; the service sees them
/// only on connections it trusts to carry them. A direct, untrusted caller is recorded by its
/// certificate name, or as `direct`, and has no role, so it sees data as ``MaskingPolicy/restricted``.
public struct Caller: Sendable, Hashable {
    public var system: String
    public var endUser: String
    public var role: String
    /// The request's trace id, tying an audit row to the request's log line.
    public var requestID: String
    /// How this caller sees each personal field.
    public var masking: MaskingPolicy
    /// Whether the call came through the gateway (the caller fields were set by it).
    public var viaGateway: Bool

    public init(
        system: String, endUser: String = "", role: String = "", requestID: String = "", masking: MaskingPolicy? = nil,
        viaGateway: Bool = false
    ) {
        self.system = system
        self.endUser = endUser
        self.role = role
        self.requestID = requestID
        self.masking = masking ?? .builtIn(role: role)
        self.viaGateway = viaGateway
    }

    public init(context: ServerCallContext) {
        let metadata = context.metadata
        self.init(
            system: metadata.callerSystem ?? context.peerIdentity ?? "direct",
            endUser: metadata.endUser ?? "",
            role: metadata.callerRole ?? "",
            requestID: Self.traceID(fromTraceparent: metadata.traceparent),
            // A masking value that does not parse withholds every field.
            masking: metadata.masking.map { MaskingPolicy(encoded: $0) ?? MaskingPolicy([:]) },
            viaGateway: metadata.callerSystem != nil)
    }

    /// Who made a change, for histories: the system and, after a slash, the end user it reported.
    public var actor: String { endUser.isEmpty ? system : "\(system)/\(endUser)" }

    /// Whether this caller sees every personal field in clear, and so may read the audit trail.
    public var seesPersonalData: Bool { masking.isClear }

    /// Whether an answer to this caller shows some personal field in clear: a read the access log
    /// records.
    public var readsPersonalData: Bool { masking.showsSomeInClear }

    /// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), or "" if there is none.
    static func traceID(fromTraceparent value: String?) -> String {
        guard let value else { return "" }
        let parts = value.split(separator: "-")
        guard parts.count == 4, parts[1].utf8.count == 32 else { return "" }
        return String(parts[1])
    }
}
