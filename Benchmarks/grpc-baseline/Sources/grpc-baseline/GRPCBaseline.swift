import ArgumentParser
import CustomerService
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Histogram
import Logging
import ServiceRuntime
import WireProtocol

/// `grpc-baseline serve` and `grpc-baseline load`: Customer.GetView (and System.Echo) over grpc-swift-2 with TLS,
/// for the comparison in docs/BENCHMARKS.md. The server answers from the same SQLite file with the
/// same `CustomerDirectory.getView` (and, for an unmasked caller, the same audit row in a write
/// transaction) as crm-customer, so the two differ only in the transport.
@main
struct GRPCBaseline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpc-baseline", abstract: "The customer view over gRPC: the baseline crm-bench is compared with.",
        subcommands: [Serve.self, Load.self])
}

/// The same request and response messages as our Customer.GetView.
let getViewMethod = GRPCCore.MethodDescriptor(fullyQualifiedService: "crm.customer.v1.CustomerService", method: "GetView")
/// The same messages as our System.Echo: the transport alone, no database.
let echoMethod = GRPCCore.MethodDescriptor(fullyQualifiedService: "crm.system.v1.System", method: "Echo")

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve Customer.GetView over gRPC with TLS.")

    @Option(help: "A CustomerService database (crm-bench load-customers); opened like crm-customer opens it.")
    var database: String

    @Option(help: "Port to listen on (127.0.0.1).")
    var port = 7601

    @Option(help: "Development PKI folder (scripts/dev-pki.sh): server.pem/server.key, client certificates checked against ca.pem.")
    var pki = "var/pki"

    @Option(help: "The caller role the server reads as: servicing (unmasked, each read audited in a write transaction) or reporting (masked).")
    var role = "servicing"

    func run() async throws {
        var logger = Logger(label: "grpc-baseline")
        logger.logLevel = .warning
        let store = try Store(configuration: .init(path: database), migrator: CustomerSchema.migrator, logger: logger)
        let accessLog = try AccessLog(path: AccessLog.defaultPath(besides: database), besides: store.configuration, logger: logger)
        let service = CustomerViewService(store: store, accessLog: accessLog, caller: Caller(system: "grpc-baseline", role: role))
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: port),
            transportSecurity: .mTLS(
                certificateChain: [.file(path: "\(pki)/server.pem", format: .pem)],
                privateKey: .file(path: "\(pki)/server.key", format: .pem)
            ) { tls in
                tls.trustRoots = .certificates([.file(path: "\(pki)/ca.pem", format: .pem)])
            },
            config: .defaults { $0.http2.maxConcurrentStreams = 4096 })
        let server = GRPCServer(transport: transport, services: [service])
        Task {
            if let address = try await transport.listeningAddress.ipv4 {
                FileHandle.standardError.write(Data("grpc-baseline listening on \(address.host):\(address.port)\n".utf8))
            }
        }
        try await server.serve()
    }
}

struct CustomerViewService: RegistrableRPCService {
    let store: Store
    let accessLog: AccessLog
    let caller: Caller
    let directory = CustomerDirectory()

    func registerMethods<Transport: ServerTransport>(with router: inout GRPCCore.RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: getViewMethod,
            deserializer: ProtobufDeserializer<Crm_Customer_V1_GetCustomerViewRequest>(),
            serializer: ProtobufSerializer<Crm_Customer_V1_GetCustomerViewResponse>()
        ) { stream, _ in
            let request = try await GRPCCore.ServerRequest(stream: stream)
            let response = try await view(request.message)
            return GRPCCore.StreamingServerResponse(single: GRPCCore.ServerResponse(message: response))
        }
        router.registerHandler(
            forMethod: echoMethod,
            deserializer: ProtobufDeserializer<Crm_System_V1_EchoRequest>(),
            serializer: ProtobufSerializer<Crm_System_V1_EchoResponse>()
        ) { stream, _ in
            let request = try await GRPCCore.ServerRequest(stream: stream)
            var response = Crm_System_V1_EchoResponse()
            response.payload = request.message.payload
            return GRPCCore.StreamingServerResponse(single: GRPCCore.ServerResponse(message: response))
        }
    }

    /// What CustomerHandlers' `personalRead` does: the read on one of the store's reader threads,
    /// then, for a caller who sees personal data unmasked, its row in the read-access log.
    func view(_ request: Crm_Customer_V1_GetCustomerViewRequest) async throws -> Crm_Customer_V1_GetCustomerViewResponse {
        let (directory, caller) = (directory, caller)
        return try await accessLog.read(of: request.id, by: caller, on: store, directory: directory) { db in
            try directory.getView(request, caller: caller, db)
        }
    }
}
