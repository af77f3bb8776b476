internal import ArgumentParser
internal import Foundation
internal import Logging
internal import NIOCore
internal import NIOPosix
internal import ServiceLifecycle
internal import ServiceRuntime
internal import WireProtocol
internal import RPCTransport
internal import CRMAPI

/// `crm-bench echo`: System.Echo through our runtime (plain and mutual TLS) beside the raw NIO
/// floor, one connection, closed loop, at several in-flight counts, all in one run.
struct EchoBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo", abstract: "Echo over loopback: our runtime beside the raw NIO floor.")

    @Option(help: "Seconds per measurement.")
    var duration: Double = 5

    @Option(help: "Comma-separated calls in flight on the one connection.")
    var inFlight: String = "1,16,256"

    @Option(help: "Comma-separated paths to measure: floor, runtime, handlers-on-loop, client-on-loop, mtls. The ratios need floor.")
    var paths: String = EchoPath.allCases.map(\.rawValue).joined(separator: ",")

    @Option(help: "Echo payload size in bytes.")
    var payload: Int = 64

    @Option(help: "Development PKI folder (scripts/dev-pki.sh) for the TLS runs; empty skips TLS.")
    var pki: String = "var/pki"

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct Row: Codable {
        var path: String
        var inFlight: Int
        var requestsPerSecond: Double
        var p50Microseconds: UInt64
        var p99Microseconds: UInt64
        var p999Microseconds: UInt64
        var maxMicroseconds: UInt64
        var ratioToFloor: Double?
        /// The whole process's CPU time (client and server, both in this process) per call: on a
        /// host whose other guests steal CPU, this varies much less from run to run than req/s.
        var cpuMicrosecondsPerCall: Double
        /// The floor's CPU per call divided by this row's: what the throughput ratio would be if
        /// both were bound only by their own CPU.
        var cpuRatioToFloor: Double?
    }

    enum EchoPath: String, CaseIterable {
        case floor, runtime, handlersOnLoop = "handlers-on-loop", clientOnLoop = "client-on-loop", mtls
    }

    func run() async throws {
        let levels = inFlight.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let selected = try Set(paths.split(separator: ",").map { name in
            guard let path = EchoPath(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("unknown path \(name); the paths are \(EchoPath.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return path
        })
        let group = MultiThreadedEventLoopGroup.singleton
        var logger = Logger(label: "crm-bench")
        logger.logLevel = .critical

        let tls: TLSSettings? = pki.isEmpty ? nil : {
            let folder = URL(fileURLWithPath: pki)
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("server.pem").path) else { return nil }
            return TLSSettings(
                certificateChainPath: folder.appendingPathComponent("server.pem").path,
                privateKeyPath: folder.appendingPathComponent("server.key").path,
                trustRootsPath: folder.appendingPathComponent("ca.pem").path)
        }()
        if !pki.isEmpty && tls == nil {
            FileHandle.standardError.write(Data("no PKI in \(pki): run scripts/dev-pki.sh \(pki) for the TLS rows\n".utf8))
        }
        let clientTLS = tls.map { server in
            TLSSettings(
                certificateChainPath: server.certificateChainPath.replacingOccurrences(of: "server.pem", with: "client.pem"),
                privateKeyPath: server.privateKeyPath.replacingOccurrences(of: "server.key", with: "client.key"),
                trustRootsPath: server.trustRootsPath)
        }

        var router = RPCRouter()
        SystemHandlers.register(into: &router, serverName: "crm-bench", version: "bench")
        let hello = Hello(maxConcurrentStreams: 4096)
        var onLoop = RPCServer.Configuration(port: 0, hello: hello)
        onLoop.unaryHandlersOnEventLoop = true
        var servers: [RPCServer] = [
            RPCServer(configuration: .init(port: 0, hello: hello), router: router, logger: logger),
            RPCServer(configuration: onLoop, router: router, logger: logger),
        ]
        if let tls {
            servers.append(RPCServer(configuration: .init(port: 0, tls: tls, hello: hello), router: router, logger: logger))
        }
        let serviceGroup = ServiceGroup(services: servers, gracefulShutdownSignals: [], logger: logger)
        let floorServer = try await RawEchoFloor.startServer(group: group)

        var rows: [Row] = []
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await serviceGroup.run() }
            let plainPort = try await servers[0].boundAddress().port!
            let onLoopPort = try await servers[1].boundAddress().port!
            let tlsPort = servers.count > 2 ? try await servers[2].boundAddress().port! : nil
            for level in levels {
                let floor = selected.contains(.floor) ? try await CPUTime.measure {
                    try await RawEchoFloor.run(
                        port: floorServer.localAddress!.port!, payloadSize: payload, inFlight: level, seconds: duration, group: group)
                } : nil
                func add(_ path: String, _ measured: (value: LatencyRecorder, cpuSeconds: Double)) {
                    rows.append(row(path, level, measured, floor: floor))
                    progress(rows.last!)
                }
                if let floor { add("raw NIO floor", floor) }
                if selected.contains(.runtime) {
                    add("runtime echo", try await CPUTime.measure { try await measureRuntime(port: plainPort, tls: nil, inFlight: level) })
                }
                if selected.contains(.handlersOnLoop) {
                    add("runtime echo, handlers on the loop", try await CPUTime.measure {
                        try await measureRuntime(port: onLoopPort, tls: nil, inFlight: level)
                    })
                }
                if selected.contains(.clientOnLoop) {
                    add("runtime echo, client on the loop", try await CPUTime.measure {
                        try await measureRuntime(port: plainPort, tls: nil, inFlight: level, clientOnLoop: true)
                    })
                }
                if selected.contains(.mtls), let tlsPort, let clientTLS {
                    add("runtime echo, mTLS", try await CPUTime.measure {
                        try await measureRuntime(port: tlsPort, tls: clientTLS, inFlight: level)
                    })
                }
            }
            await serviceGroup.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await floorServer.close().get()

        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        } else {
            print(Self.table(rows, payload: payload, duration: duration))
        }
    }

    /// Our client and server. `clientOnLoop`: the calls are issued from the connection's event loop
    /// (`RPCConnection.callOnEventLoop`, as the raw floor's client does) instead of one task per call.
    private func measureRuntime(port: Int, tls: TLSSettings?, inFlight: Int, clientOnLoop: Bool = false) async throws -> LatencyRecorder {
        let connection = try await RPCConnection.connect(
            host: "127.0.0.1", port: port, options: .init(tls: tls, hello: Hello(maxConcurrentStreams: 4096)))
        if clientOnLoop {
            let total = try await EventLoopEcho.measure(
                connections: [connection], inFlight: inFlight, duration: duration, metadata: Metadata(), payloadSize: payload)
            await connection.close()
            return total
        }
        var request = Crm_System_V1_EchoRequest()
        request.payload = Data(repeating: 0x61, count: payload)
        let total = try await ClosedLoop.measure(inFlight: inFlight, duration: duration) { [request] _, _ in
            _ = try await connection.unary(SystemMethods.echo, request)
        }
        await connection.close()
        return total
    }

    private func row(
        _ path: String, _ inFlight: Int, _ measured: (value: LatencyRecorder, cpuSeconds: Double),
        floor: (value: LatencyRecorder, cpuSeconds: Double)?
    ) -> Row {
        let recorder = measured.value
        let cpuPerCall = measured.cpuSeconds * 1e6 / Double(max(recorder.count, 1))
        let floorCPUPerCall = floor.map { $0.cpuSeconds * 1e6 / Double(max($0.value.count, 1)) }
        return Row(
            path: path, inFlight: inFlight, requestsPerSecond: recorder.throughput,
            p50Microseconds: recorder.percentile(50), p99Microseconds: recorder.percentile(99),
            p999Microseconds: recorder.percentile(99.9), maxMicroseconds: recorder.maximum,
            ratioToFloor: floor.map { recorder.throughput / $0.value.throughput },
            cpuMicrosecondsPerCall: cpuPerCall, cpuRatioToFloor: floorCPUPerCall.map { $0 / cpuPerCall })
    }

    private func progress(_ row: Row) {
        FileHandle.standardError.write(
            Data(String(format: "%-20@ in-flight %4d  %10.0f req/s  p50 %6d us  p99 %6d us  CPU %.2f us/call\n",
                        row.path as NSString, row.inFlight, row.requestsPerSecond, row.p50Microseconds, row.p99Microseconds, row.cpuMicrosecondsPerCall).utf8))
    }

    static func table(_ rows: [Row], payload: Int, duration: Double) -> String {
        var lines = [
            "echo, \(payload)-byte payload, one connection, closed loop, \(duration) s per row",
            "| path | in flight | req/s | p50 us | p99 us | p99.9 us | max us | vs floor | CPU us/call | CPU vs floor |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        func ratio(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "-" }
        for row in rows {
            lines.append(
                String(format: "| %@ | %d | %.0f | %d | %d | %d | %d | %@ | %.2f | %@ |", row.path as NSString, row.inFlight,
                       row.requestsPerSecond, row.p50Microseconds, row.p99Microseconds, row.p999Microseconds,
                       row.maxMicroseconds, ratio(row.ratioToFloor) as NSString, row.cpuMicrosecondsPerCall,
                       ratio(row.cpuRatioToFloor) as NSString))
        }
        return lines.joined(separator: "\n")
    }
}
