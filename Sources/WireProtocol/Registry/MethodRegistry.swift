/// Every method of every service, by id and by name. Each service lists its methods in
/// ``MethodRegistry/all``; ids and names are unique (checked by a test) and never reused.
public enum MethodRegistry {
    public static let all: [MethodInfo] = SystemMethods.all + CustomerMethods.all + MarketingMethods.all + ServiceDeskMethods.all + FeedMethods.all

    private static let byID: [MethodID: MethodInfo] = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    private static let byName: [String: MethodInfo] = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    public static func method(_ id: MethodID) -> MethodInfo? { byID[id] }
    public static func method(named name: String) -> MethodInfo? { byName[name] }
}

/// Methods every server answers (service id 1).
public enum SystemMethods {
    public static let echo = MethodDescriptor<Crm_System_V1_EchoRequest, Crm_System_V1_EchoResponse>(
        service: ServiceID.system, method: 1, name: "System.Echo", isIdempotent: true)

    public static let health = MethodDescriptor<Crm_System_V1_HealthRequest, Crm_System_V1_HealthResponse>(
        service: ServiceID.system, method: 2, name: "System.Health", isIdempotent: true)

    public static let echoStream = MethodDescriptor<Crm_System_V1_EchoStreamRequest, Crm_System_V1_EchoStreamItem>(
        service: ServiceID.system, method: 3, name: "System.EchoStream", kind: .serverStream, isIdempotent: true)

    /// The most items one EchoStream call may ask for.
    public static let maxEchoStreamCount: UInt32 = 100_000

    public static let all: [MethodInfo] = [echo.info, health.info, echoStream.info]
}
