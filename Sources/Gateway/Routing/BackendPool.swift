internal import Logging
internal import NIOConcurrencyHelpers
internal import NIOCore
public import ServiceRuntime
internal import WireProtocol

/// One instance of a service behind the gateway: a multiplexed connection (reconnected as needed),
/// whether it is up, and how many calls it has in flight.
public final class BackendInstance: Sendable {
    public let address: String
    let client: RPCClient
    private let state = NIOLockedValueBox<(up: Bool, inFlight: Int)>((true, 0))

    init(host: String, port: Int, options: RPCConnection.Options) {
        self.address = "\(host):\(port)"
        // One connection attempt per call: the pool, not the client, decides where to go next.
        self.client = RPCClient(
            configuration: .init(host: host, port: port, options: options, maximumAttempts: 1))
    }

    public var isUp: Bool { state.withLockedValue { $0.up } }
    public var inFlight: Int { state.withLockedValue { $0.inFlight } }

    /// Records a health check's or a call's verdict; returns whether it changed.
    @discardableResult
    func setUp(_ up: Bool) -> Bool {
        state.withLockedValue { state in
            defer { state.up = up }
            return state.up != up
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

    /// The up instance with the fewest calls in flight, skipping `excluded` (tried already).
    func pick(excluding excluded: Set<String> = []) -> BackendInstance? {
        var best: (instance: BackendInstance, load: Int)?
        for instance in instances where !excluded.contains(instance.address) {
            let (up, load) = (instance.isUp, instance.inFlight)
            guard up else { continue }
            if best == nil || load < best!.load { best = (instance, load) }
        }
        return best?.instance
    }

    func close() async {
        for instance in instances { await instance.client.close() }
    }
}
