internal import ArgumentParser
internal import Foundation
internal import NIOCore
internal import NIOPosix
internal import ServiceRuntime
internal import WireProtocol
internal import RPCTransport

/// `crm-bench run`: the workloads against a running system (scripts/bench-system.sh starts one on
/// the bench data), through the gateway with mutual TLS and/or direct to each service, closed loop
/// (N connections, M calls in flight) or open loop (fixed arrival rates), with the raw NIO echo
/// floor measured in the same run. Prints a table and, with --json, writes every row as JSON.
struct RunBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run workloads against a running system: closed or open loop, through the gateway or direct.")

    @Option(help: "Comma-separated workloads: \(Workload.allCases.map(\.rawValue).joined(separator: ", ")); and floor (the raw NIO echo, in this process).")
    var workload = "floor,echo,view"

    @Option(help: "Comma-separated paths: gateway, direct.")
    var via = "gateway,direct"

    @Option(help: "The gateway's address.")
    var gateway = "127.0.0.1:7443"

    @Option(help: "crm-customer's address (direct).")
    var customer = "127.0.0.1:7101"

    @Option(help: "crm-servicedesk's address (direct).")
    var servicedesk = "127.0.0.1:7103"

    @Option(help: "crm-marketing's address (direct).")
    var marketing = "127.0.0.1:7102"

    @Option(help: "Development PKI folder: client.pem for the gateway, gateway-internal.pem for the services.")
    var pki = "var/pki"

    @Option(help: "The caller role named in metadata on direct calls (the gateway's policy decides it through the gateway).")
    var role = "servicing"

    @Option(help: "How many customers the customer database holds (crm-bench load-customers --count).")
    var count = 100_000

    @Option(help: "Connections per service; calls in flight are spread over them.")
    var connections = 1

    @Option(help: "Closed loop: comma-separated calls in flight in total.")
    var inFlight = "1,16,256"

    @Option(help: "Open loop instead: comma-separated arrival rates (calls per second).")
    var rate: String?

    @Option(help: "Seconds per row.")
    var duration = 5.0

    @Option(help: "Seconds of warm-up per workload and path, not recorded.")
    var warmup = 1.0

    @Option(help: "Write the rows as JSON to this file.")
    var json: String?

    func validate() throws {
        for name in workload.split(separator: ",") where name != "floor" && Workload(rawValue: String(name)) == nil {
            throw ValidationError("unknown workload \(name)")
        }
        for path in via.split(separator: ",") where path != "gateway" && path != "direct" { throw ValidationError("unknown path \(path)") }
        guard (1...64).contains(connections) else { throw ValidationError("--connections must be 1 to 64") }
        if rate != nil, workload.split(separator: ",").contains("echo-loop") { throw ValidationError("echo-loop runs closed loop only") }
    }

    func run() async throws {
        let levels = inFlight.split(separator: ",").compactMap { Int($0) }
        let rates = rate?.split(separator: ",").compactMap { Double($0) }
        let shape = rates.map { "open loop at \($0.map { String(format: "%.0f", $0) }.joined(separator: ", ")) calls/s" }
            ?? "closed loop, \(levels.map(String.init).joined(separator: ", ")) in flight"
        var report = RunReport(
            command: CommandLine.arguments.joined(separator: " "), shape: shape, connections: connections, duration: duration)

        let workloads = workload.split(separator: ",").map(String.init)
        if workloads.contains("floor") {
            let group = MultiThreadedEventLoopGroup.singleton
            let server = try await RawEchoFloor.startServer(group: group)
            let port = server.localAddress!.port!
            for level in levels {
                let recorder = try await RawEchoFloor.run(port: port, payloadSize: 64, inFlight: level, seconds: duration, group: group)
                report.add(RunReport.Row(workload: "floor", path: "raw NIO echo", load: level, loadKind: "in_flight", recorder))
            }
            try await server.close()
        }
        for path in via.split(separator: ",").map(String.init) {
            let needed = Set(workloads.compactMap(Workload.init(rawValue:)).flatMap(\.services))
            guard !needed.isEmpty else { continue }
            let targets = try await connect(path, services: needed)
            for name in workloads {
                guard let workload = Workload(rawValue: name) else { continue }
                let (call, beforeMeasuring) = try await workload.makeRun(targets: targets, count: count)
                _ = try await ClosedLoop.measure(inFlight: 4, duration: warmup, call)
                if let rates {
                    try await beforeMeasuring(1_024)  // the open loop spreads calls over 1,024 workers
                    for rate in rates {
                        let label = "\(name) via \(path) at \(Int(rate))/s"
                        let recorder = await Progress.showing(label) { progress in
                            await OpenLoop.measure(rate: rate, duration: duration, progress: progress, call)
                        }
                        report.add(RunReport.Row(workload: name, path: path, load: Int(rate), loadKind: "rate", recorder))
                    }
                } else {
                    for level in levels {
                        try await beforeMeasuring(level)
                        let label = "\(name) via \(path), \(level) in flight"
                        let recorder = try await Progress.showing(label) { progress in
                            if workload == .echoLoop {
                                return try await EventLoopEcho.measure(
                                    connections: targets.customer, inFlight: level, duration: duration, metadata: targets.metadata, progress: progress)
                            }
                            return try await ClosedLoop.measure(inFlight: level, duration: duration, progress: progress, call)
                        }
                        report.add(RunReport.Row(workload: name, path: path, load: level, loadKind: "in_flight", recorder))
                    }
                }
            }
            await targets.closeAll()
        }
        print(report.markdown())
        if let json { try report.json().write(to: URL(fileURLWithPath: json)) }
    }

    private func connect(_ path: String, services: Set<String>) async throws -> Targets {
        let hello = Hello(maxConcurrentStreams: 4096)
        func open(_ address: String, tls: TLSSettings) async throws -> [RPCConnection] {
            let parts = address.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("an address must be host:port: \(address)") }
            var all: [RPCConnection] = []
            for _ in 0..<connections {
                all.append(try await RPCConnection.connect(host: String(parts[0]), port: port, options: .init(tls: tls, hello: hello)))
            }
            return all
        }
        if path == "gateway" {
            let tls = TLSSettings(certificateChainPath: "\(pki)/client.pem", privateKeyPath: "\(pki)/client.key", trustRootsPath: "\(pki)/ca.pem")
            let shared = try await open(gateway, tls: tls)
            return Targets(customer: shared, servicedesk: shared, marketing: shared, metadata: Metadata())
        }
        let tls = TLSSettings(
            certificateChainPath: "\(pki)/gateway-internal.pem", privateKeyPath: "\(pki)/gateway-internal.key", trustRootsPath: "\(pki)/internal-ca.pem")
        var metadata = Metadata()
        (metadata.callerSystem, metadata.callerRole) = ("crm-bench", role)
        return Targets(
            customer: services.contains("customer") ? try await open(customer, tls: tls) : [],
            servicedesk: services.contains("servicedesk") ? try await open(servicedesk, tls: tls) : [],
            marketing: services.contains("marketing") ? try await open(marketing, tls: tls) : [],
            metadata: metadata)
    }
}

/// The rows of one `crm-bench run`, as a markdown table (with each row's ratio to the raw floor
/// at the same load) and as JSON.
struct RunReport {
    struct Row {
        var workload: String
        var path: String
        var load: Int
        var loadKind: String
        var recorder: LatencyRecorder

        init(workload: String, path: String, load: Int, loadKind: String, _ recorder: LatencyRecorder) {
            (self.workload, self.path, self.load, self.loadKind, self.recorder) = (workload, path, load, loadKind, recorder)
        }
    }

    var command: String
    var shape: String
    var connections: Int
    var duration: Double
    var rows: [Row] = []

    mutating func add(_ row: Row) {
        rows.append(row)
        FileHandle.standardError.write(Data((markdownRow(row) + "\n").utf8))
    }

    private func floor(at load: Int) -> Double? {
        rows.first { $0.workload == "floor" && $0.load == load }?.recorder.throughput
    }

    func markdownRow(_ row: Row) -> String {
        let r = row.recorder
        let ratio = floor(at: row.load).map { String(format: "%.3f", r.throughput / $0) } ?? "-"
        let errors = r.errorsByCode.isEmpty ? "0" : r.errorsByCode.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return String(
            format: "| %@ | %@ | %d | %.0f | %llu | %llu | %llu | %llu | %llu | %@ | %@ |", row.workload, row.path, row.load, r.throughput,
            r.percentile(50), r.percentile(90), r.percentile(99), r.percentile(99.9), r.maximum, errors, ratio)
    }

    func markdown() -> String {
        let loadColumn = rows.contains { $0.loadKind == "rate" } ? "load (in flight or calls/s)" : "in flight"
        var lines = [
            "\(shape); \(connections) connection(s) per service; \(duration) s per row",
            "| workload | path | \(loadColumn) | ops/s | p50 us | p90 us | p99 us | p99.9 us | max us | errors | vs floor |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
        ]
        lines += rows.map(markdownRow)
        return lines.joined(separator: "\n")
    }

    func json() throws -> Data {
        let host = ProcessInfo.processInfo
        let object: [String: Any] = [
            "command": command, "date": ISO8601DateFormatter().string(from: Date()), "shape": shape, "connections": connections,
            "seconds_per_row": duration,
            "machine": ["cores": host.activeProcessorCount, "memory_bytes": host.physicalMemory, "os": host.operatingSystemVersionString],
            "rows": rows.map { row -> [String: Any] in
                let r = row.recorder
                return [
                    "workload": row.workload, "path": row.path, row.loadKind: row.load, "operations": r.count,
                    "seconds": Double(r.elapsed.nanoseconds) / 1e9, "throughput": r.throughput.rounded(),
                    "p50_us": r.percentile(50), "p90_us": r.percentile(90), "p99_us": r.percentile(99), "p999_us": r.percentile(99.9),
                    "max_us": r.maximum, "errors": r.errorsByCode, "vs_floor": floor(at: row.load).map { r.throughput / $0 } as Any,
                ]
            },
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }
}
