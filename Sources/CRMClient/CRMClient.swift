public import NIOCore
internal import Foundation
public import RPCTransport
public import CRMAPI
public import WireProtocol

/// The typed Swift client of the CRM, used by crmctl, crm-bench, tests and Swift callers. Calls go
/// through one reconnecting, multiplexed connection (``RPCClient``). Every method of Protos/ is a
/// typed call of the service's generated client (`client.customer.getView(request)`, in
/// Generated/); ``call(_:_:timeout:)`` takes any unary descriptor.
public final class CRMClient: Sendable {
    public let rpc: RPCClient

    public init(configuration: RPCClient.Configuration) {
        self.rpc = RPCClient(configuration: configuration)
    }

    public func echo(_ payload: [UInt8], timeout: TimeAmount? = nil) async throws -> [UInt8] {
        var request = Crm_System_V1_EchoRequest()
        request.payload = .init(payload)
        return Array(try await rpc.unary(SystemMethods.echo, request, timeout: timeout).payload)
    }

    public func health(timeout: TimeAmount? = nil) async throws -> Crm_System_V1_HealthResponse {
        try await rpc.unary(SystemMethods.health, Crm_System_V1_HealthRequest(), timeout: timeout)
    }

    public func close() async { await rpc.close() }

    /// Any unary method of the registry, typed by its descriptor.
    public func call<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ request: Request, timeout: TimeAmount? = nil
    ) async throws -> Response {
        try await rpc.unary(method, request, timeout: timeout)
    }
}

/// Where a client connects and with which TLS files, from flags or the environment:
/// `CRM_ADDRESS` (host:port, default 127.0.0.1:7443, the gateway), `CRM_TLS_CERT`, `CRM_TLS_KEY`,
/// `CRM_TLS_CA`. Without all three TLS files the connection is plain TCP (development only).
public struct ClientTarget: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var tls: TLSSettings?

    public static let defaultAddress = "127.0.0.1:7443"

    public init(address: String, certificate: String?, key: String?, ca: String?) throws(ClientTargetError) {
        guard let parsed = HostPort(parsing: address) else {
            throw ClientTargetError(message: "address \"\(address)\" is not host:port")
        }
        (host, port) = (parsed.host, parsed.port)
        switch (certificate, key, ca) {
        case (nil, nil, nil):
            tls = nil
        case (let certificate?, let key?, let ca?):
            tls = TLSSettings(certificateChainPath: certificate, privateKeyPath: key, trustRootsPath: ca)
        default:
            throw ClientTargetError(message: "TLS needs all of --tls-cert, --tls-key and --tls-ca (or CRM_TLS_CERT, CRM_TLS_KEY, CRM_TLS_CA)")
        }
    }

    /// The target from flags, each flag left out taken from the environment (`CRM_ADDRESS`,
    /// `CRM_TLS_CERT`, `CRM_TLS_KEY`, `CRM_TLS_CA`), the address defaulting to ``defaultAddress``.
    public init(
        flagsAddress address: String?, certificate: String?, key: String?, ca: String?, environment: [String: String]
    ) throws(ClientTargetError) {
        try self.init(
            address: address ?? environment["CRM_ADDRESS"] ?? Self.defaultAddress, certificate: certificate ?? environment["CRM_TLS_CERT"],
            key: key ?? environment["CRM_TLS_KEY"], ca: ca ?? environment["CRM_TLS_CA"])
    }

    public var rpcConfiguration: RPCClient.Configuration {
        RPCClient.Configuration(host: host, port: port, options: .init(tls: tls), maximumAttempts: 2)
    }
}

public struct ClientTargetError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
