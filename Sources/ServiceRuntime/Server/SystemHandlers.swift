internal import NIOCore
public import WireProtocol
public import CRMAPI
public import RPCTransport

/// The System service (id 1) that every server answers: echo, a streamed echo and health.
public enum SystemHandlers {
    /// Registers System.Echo, System.EchoStream and System.Health.
    ///
    /// - Parameters:
    ///   - serverName: reported by health, e.g. `crm-customer`.
    ///   - version: the build version reported by health.
    ///   - status: decides what health reports (serving, draining ...). It runs on an event loop
    ///     (echo and health are answered there, ``RPCRouter/registerImmediate(_:handler:)``), so it
    ///     must answer from memory, never wait.
    public static func register(
        into router: inout RPCRouter, serverName: String, version: String,
        status: @escaping @Sendable () -> Crm_System_V1_HealthResponse.ServingStatus = { .serving }
    ) {
        let started = NIODeadline.now()
        router.registerImmediate(SystemMethods.echo) { request, _ in
            var response = Crm_System_V1_EchoResponse()
            response.payload = request.payload
            return response
        }
        router.register(SystemMethods.echoStream) { request, writer, _ in
            guard request.count <= SystemMethods.maxEchoStreamCount else {
                throw RPCError(
                    code: .invalidArgument, message: "count must be at most \(SystemMethods.maxEchoStreamCount)",
                    reason: .invalidField, processing: .notProcessed,
                    fieldViolations: [.init(field: "count", description: "at most \(SystemMethods.maxEchoStreamCount)")])
            }
            for index in 0..<request.count {
                var item = Crm_System_V1_EchoStreamItem()
                item.payload = request.payload
                item.index = index
                try await writer.write(item)
            }
        }
        router.registerImmediate(SystemMethods.health, logsQuietly: true) { _, _ in
            var response = Crm_System_V1_HealthResponse()
            response.status = status()
            response.server = serverName
            response.version = version
            response.uptimeSeconds = UInt64((NIODeadline.now() - started).nanoseconds / 1_000_000_000)
            return response
        }
    }
}
