import TestSupport
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// A server on a free loopback port for the duration of `body`, then shut down gracefully.
func withTestServer<T: Sendable>(
    router: RPCRouter = .withSystemHandlers(),
    configuration: RPCServer.Configuration = RPCServer.Configuration(port: 0),
    transport: Transport = .plain,
    metrics: ServerMetrics? = nil,
    group eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
    _ body: @Sendable (RPCServer, Int) async throws -> T
) async throws -> T {
    let server = RPCServer(
        configuration: transport.server(configuration), router: router, logger: testLogger, metrics: metrics, group: eventLoopGroup)
    let group = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: testLogger)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let port = try await server.boundAddress().port!
            let result = try await body(server, port)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            tasks.cancelAll()
            throw error
        }
    }
}

let testLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return logger
}()

extension RPCRouter {
    static func withSystemHandlers() -> RPCRouter {
        var router = RPCRouter()
        SystemHandlers.register(into: &router, serverName: "test", version: "test")
        return router
    }
}

func echoRequest(_ text: String) -> Crm_System_V1_EchoRequest {
    var request = Crm_System_V1_EchoRequest()
    request.payload = Data(text.utf8)
    return request
}

/// How a peer reaches the server: the runtime must behave the same over plain TCP and mutual TLS,
/// so the behaviour tests run over both.
enum Transport: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case plain
    case tls

    var testDescription: String { self == .tls ? "mutual TLS" : "plain TCP" }

    /// One PKI for the whole test process: making one runs openssl several times.
    static let pki: TestPKI = {
        do { return try TestPKI.make() } catch { fatalError("scripts/dev-pki.sh failed: \(error)") }
    }()

    func server(_ configuration: RPCServer.Configuration) -> RPCServer.Configuration {
        var configuration = configuration
        if self == .tls { configuration.tls = Self.pki.server }
        return configuration
    }

    func options(_ options: RPCConnection.Options = .init()) -> RPCConnection.Options {
        var options = options
        if self == .tls { options.tls = Self.pki.client }
        return options
    }

    func connect(port: Int, options: RPCConnection.Options = .init(connectTimeout: TestTimeouts.connect)) async throws -> RPCConnection {
        try await RPCConnection.connect(host: "127.0.0.1", port: port, options: self.options(options))
    }
}

extension RawClient {
    /// A raw peer over `transport`, presenting the test PKI's client certificate over TLS.
    static func connect(port: Int, transport: Transport, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> RawClient {
        try await connect(port: port, tls: transport == .tls ? Transport.pki.client : nil, group: group)
    }
}
