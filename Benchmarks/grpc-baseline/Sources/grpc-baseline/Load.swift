import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Histogram
import WireProtocol

/// `grpc-baseline load`: the load shape of `crm-bench run --workload view`: one connection (one
/// HTTP/2 connection here), a closed loop of N calls in flight, random customers drawn by the same
/// function, a one-second warm-up, then HdrHistogram percentiles per level.
struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Drive Customer.GetView over gRPC in a closed loop.")

    @Option(help: "The grpc-baseline server's port on 127.0.0.1.")
    var port = 7601

    @Option(help: "Development PKI folder: client.pem/client.key, the server checked against ca.pem.")
    var pki = "var/pki"

    @Option(help: "How many customers the database holds (load-customers --count).")
    var count = 100_000

    @Option(help: "Seconds per level.")
    var duration = 5.0

    @Option(help: "Comma-separated calls in flight.")
    var inFlight = "1,16,256"

    @Option(help: "view (Customer.GetView of random customers) or echo (64 bytes, no database).")
    var method = "view"

    @Option(help: "Append one JSON object per level to this file.")
    var json: String?

    func run() async throws {
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: port),
            transportSecurity: .mTLS(
                certificateChain: [.file(path: "\(pki)/client.pem", format: .pem)],
                privateKey: .file(path: "\(pki)/client.key", format: .pem)
            ) { tls in
                tls.trustRoots = .certificates([.file(path: "\(pki)/ca.pem", format: .pem)])
            },
            config: .defaults { $0.http2.authority = "localhost" })
        let client = GRPCClient(transport: transport)
        let connections = Task { try await client.runConnections() }
        defer {
            client.beginGracefulShutdown()
            connections.cancel()
        }
        let count = self.count
        let view: @Sendable (Int, Int) async throws -> Void = { worker, iteration in
            var request = Crm_Customer_V1_GetCustomerViewRequest()
            request.id = customerID(worker: worker, iteration: iteration, count: count)
            let id = try await client.unary(
                request: ClientRequest(message: request), descriptor: getViewMethod,
                serializer: ProtobufSerializer<Crm_Customer_V1_GetCustomerViewRequest>(),
                deserializer: ProtobufDeserializer<Crm_Customer_V1_GetCustomerViewResponse>(), options: .defaults
            ) { response in try response.message.view.customer.id }
            guard id == request.id else { throw GRPCCore.RPCError(code: .internalError, message: "wrong customer \(id)") }
        }
        var echoRequest = Crm_System_V1_EchoRequest()
        echoRequest.payload = Data(repeating: 0x61, count: 64)
        let finishedEcho = echoRequest
        let echo: @Sendable (Int, Int) async throws -> Void = { _, _ in
            _ = try await client.unary(
                request: ClientRequest(message: finishedEcho), descriptor: echoMethod,
                serializer: ProtobufSerializer<Crm_System_V1_EchoRequest>(),
                deserializer: ProtobufDeserializer<Crm_System_V1_EchoResponse>(), options: .defaults
            ) { response in try response.message }
        }
        guard method == "view" || method == "echo" else { throw ValidationError("--method is view or echo") }
        let call = method == "view" ? view : echo
        let label = "grpc-swift-2 \(method), one hop"
        _ = await measure(inFlight: 4, duration: 1, call)
        print("| path | in flight | req/s | p50 us | p90 us | p99 us | p99.9 us | max us | errors |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for level in inFlight.split(separator: ",").compactMap({ Int($0) }) {
            let result = await measure(inFlight: level, duration: duration, call)
            print(result.markdownRow(label, inFlight: level))
            if let json {
                let line = result.jsonObject(label, method: method, inFlight: level)
                let handle = FileHandle(forWritingAtPath: json) ?? {
                    FileManager.default.createFile(atPath: json, contents: nil)
                    return FileHandle(forWritingAtPath: json)!
                }()
                handle.seekToEndOfFile()
                handle.write(Data((line + "\n").utf8))
                try handle.close()
            }
        }
    }
}

/// The customer crm-bench's view workload asks for on iteration `iteration` of worker `worker`
/// (the same xorshift over the loaded range, so both draw the same customers).
func customerID(worker: Int, iteration: Int, count: Int) -> String {
    var x = UInt64(truncatingIfNeeded: worker &* 7_919 &+ iteration &* 104_729 &+ 1)
    x ^= x << 13
    x ^= x >> 7
    x ^= x << 17
    return "C" + String(format: "%010d", Int(x % UInt64(count)) + 1)
}

struct Measurement: Sendable {
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    var errors: [String: Int] = [:]
    var seconds = 0.0

    var throughput: Double { Double(histogram.totalCount) / seconds }

    func markdownRow(_ label: String, inFlight: Int) -> String {
        String(
            format: "| %@ | %d | %.0f | %d | %d | %d | %d | %d | %d |", label, inFlight, throughput, histogram.valueAtPercentile(50),
            histogram.valueAtPercentile(90), histogram.valueAtPercentile(99), histogram.valueAtPercentile(99.9), histogram.max,
            errors.values.reduce(0, +))
    }

    func jsonObject(_ label: String, method: String, inFlight: Int) -> String {
        let object: [String: Any] = [
            "label": label, "method": method, "in_flight": inFlight, "seconds": seconds, "requests": histogram.totalCount,
            "throughput": throughput.rounded(), "p50_us": histogram.valueAtPercentile(50), "p90_us": histogram.valueAtPercentile(90),
            "p99_us": histogram.valueAtPercentile(99), "p999_us": histogram.valueAtPercentile(99.9), "max_us": histogram.max,
            "errors": errors,
        ]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

/// `inFlight` workers, each sending its next call when the last one answers, for `duration` seconds.
func measure(inFlight: Int, duration: Double, _ call: @escaping @Sendable (Int, Int) async throws -> Void) async -> Measurement {
    let started = ContinuousClock.now
    let until = started + .nanoseconds(Int64(duration * 1e9))
    var total = await withTaskGroup(of: Measurement.self) { group in
        for worker in 0..<inFlight {
            group.addTask {
                var measurement = Measurement()
                var iteration = 0
                while ContinuousClock.now < until {
                    let sent = ContinuousClock.now
                    do {
                        try await call(worker, iteration)
                        let elapsed = ContinuousClock.now - sent
                        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
                        _ = measurement.histogram.record(UInt64(max(micros, 1)))
                    } catch let error as GRPCCore.RPCError {
                        measurement.errors["\(error.code)", default: 0] += 1
                    } catch {
                        measurement.errors["\(type(of: error))", default: 0] += 1
                    }
                    iteration += 1
                }
                return measurement
            }
        }
        var merged = Measurement()
        for await part in group {
            merged.histogram.add(part.histogram)
            merged.errors.merge(part.errors, uniquingKeysWith: +)
        }
        return merged
    }
    let elapsed = ContinuousClock.now - started
    total.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return total
}
