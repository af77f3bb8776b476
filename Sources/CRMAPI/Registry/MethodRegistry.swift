public import WireProtocol

/// Every method of every service, by id and by name. ``MethodRegistry/all`` is generated from the
/// services in Protos/ (protoc-gen-crm); ids and names are unique (the plugin refuses a repeat).
public enum MethodRegistry {
    private static let byID: [MethodID: MethodInfo] = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    private static let byName: [String: MethodInfo] = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    public static func method(_ id: MethodID) -> MethodInfo? { byID[id] }
    public static func method(named name: String) -> MethodInfo? { byName[name] }
}

extension SystemMethods {
    /// The most items one EchoStream call may ask for.
    public static let maxEchoStreamCount: UInt32 = 100_000
}
