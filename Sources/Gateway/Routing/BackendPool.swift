internal import Logging
internal import NIOConcurrencyHelpers
internal import NIOCore
public import ServiceRuntime
internal import WireProtocol
public import RPCTransport

/// One instance of a service behind the gateway: a multiplexed connection (reconnected as needed),
/// whether it is up, and how many calls it has in flight.
public final class BackendInstance: Sendable {
    public let address: String
    let client: RPCClient
    private let state = NIOLockedValueBox<(up: Bool, inFlight: Int, failedChecks: Int)>((true, 0, 0))
    /// Health checks that must fail in a row before the instance counts as down: one slow answer
    /// on a busy machine is not an outage.
    static let failedChecksForDown = 2

    init(host: String, port: Int, options: RPCConnection.Options) {
        self.address = "\(host):\(port)"
        // One connection attempt per call: the pool, not the client, decides where to go next.
        self.client = RPCClient(
            configuration: .init(host: host, port: port, options: options, maximumAttempts: 1))
    }

    public var isUp: Bool { state.withLockedValue { $0.up } }
    public var inFlight: Int { state.withLockedValue { $0.inFlight } }

    /// Records a health check's verdict; returns whether the instance went up or down.
    @discardableResult
    func recordCheck(serving: Bool) -> Bool {
        state.withLockedValue { state in
            let wasUp = state.up
            state.failedChecks = serving ? 0 : state.failedChecks + 1
            state.up = serving || (state.up && state.failedChecks < Self.failedChecksForDown)
            return state.up != wasUp
        }
    }

    /// A call could not connect: down at once, until a health check says otherwise.
    @discardableResult
    func markDown() -> Bool {
        state.withLockedValue { state in
            defer { state.up = false }
            return state.up
        }
    }

    /// Counts the call as in flight while `body` runs.
    func withCall<T>(_ body: () async throws -> T) async rethrows -> T {
        state.withLockedValue { $0.inFlight += 1 }
        defer { state.withLockedValue { $0.inFlight -= 1 } }
        return try await body()
    }
}

/// The instances of one service (or several service ids served by the same executable), chosen
/// by least calls in flight among those up.
public final class BackendPool: Sendable {
    public let name: String
    public let serviceIDs: [UInt16]
    public let instances: [BackendInstance]

    public init(name: String, serviceIDs: [UInt16], instances: [(host: String, port: Int)], options: RPCConnection.Options) {
        self.name = name
        self.serviceIDs = serviceIDs
        self.instances = instances.map { BackendInstance(host: $0.host, port: $0.port, options: options) }
    }

    /// The up instance with the fewest calls in flight, skipping `excluded` (tried already). When
    /// every instance is down, the least busy of them all: the health checks may be what is failing,
    /// and an instance that really is down refuses the connection at once.
    func pick(excluding excluded: Set<String> = []) -> BackendInstance? {
        let candidates = instances.filter { !excluded.contains($0.address) }
        let up = candidates.filter(\.isUp)
        let pool = up.isEmpty && !instances.contains(where: \.isUp) ? candidates : up
        return pool.min { $0.inFlight < $1.inFlight }
    }

    func close() async {
        for instance in instances { await instance.client.close() }
    }
}
