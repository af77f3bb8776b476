import Dispatch
import Foundation
import GRDB
import Logging
import MarketingService
import NIOCore
import ServiceLifecycle
import ServiceRuntime
import SwiftProtobuf
import Testing
import TestSupport
import WireProtocol
internal import RPCTransport
internal import CRMAPI

/// crmctl, the real executable, against a real server on loopback.
@Suite("crmctl", .serialized)
struct CrmctlTests {
    static func crmctl(_ arguments: [String]) async throws -> Executables.Output {
        try await Executables.run("crmctl", arguments)
    }

    func withServer(
        _ register: (inout RPCRouter) -> Void = { _ in }, _ body: @Sendable (Int) async throws -> Void
    ) async throws {
        var router = RPCRouter()
        SystemHandlers.register(into: &router, serverName: "crmctl-test", version: "test")
        register(&router)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = RPCServer(configuration: .init(port: 0), router: router, logger: logger)
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await body(try await server.boundAddress().port!)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("call, stream, health: JSON out, status 0")
    func calls() async throws {
        try await withServer { port in
            let address = "127.0.0.1:\(port)"
            let echo = try await Self.crmctl(["call", "System.Echo", #"{"payload": "aGk="}"#, "--address", address])
            #expect(echo.status == 0, "\(echo.stderr)")
            #expect(echo.stdout.contains(#""payload":"aGk=""#))

            let stream = try await Self.crmctl(["call", "System.EchoStream", #"{"payload": "aGk=", "count": 3}"#, "--address", address])
            #expect(stream.status == 0, "\(stream.stderr)")
            let lines = stream.stdout.split(separator: "\n")
            #expect(lines.count == 3)
            #expect(lines.last?.contains(#""index":2"#) == true)

            let health = try await Self.crmctl(["health", "--address", address])
            #expect(health.status == 0)
            #expect(health.stdout.contains("SERVING_STATUS_SERVING"))
            #expect(health.stdout.contains("crmctl-test"))
        }
    }

    @Test("feeds dead-letters lists a consuming server's dead letters; feeds retry applies them again")
    func deadLetters() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crmctl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let store = try Store(configuration: .init(path: folder.appendingPathComponent("consumer.sqlite").path), migrator: .init(), logger: logger)
        var event = Crm_Feed_V1_ChangeEvent()
        (event.sequence, event.type, event.entityKey) = (5, "customer.updated", "C0000000042")
        let blob = Data(try event.serializedBytes() as [UInt8])
        try await store.pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO feed_dead_letter (producer, epoch, sequence, entity_key, event, error, attempts, failed_at_ms)
                    VALUES ('customer', 'epoch-1', 5, 'C0000000042', ?, 'mirror refused it', 5, 1000)
                    """,
                arguments: [blob])
        }
        let applied = Recorder(0)
        let consumer = FeedConsumer(
            configuration: .init(producer: "customer", consumer: "crmctl-test", client: .init(host: "127.0.0.1", port: 1)), store: store,
            logger: logger, apply: { _, _ in applied.update { $0 += 1 } })
        try await withServer({ FeedHandlers.register(into: &$0, consumers: [consumer]) }) { port in
            let address = "127.0.0.1:\(port)"
            let listed = try await Self.crmctl(["feeds", "dead-letters", "--address", address])
            #expect(listed.status == 0, "\(listed.stderr)")
            #expect(listed.stdout.split(separator: "\n").count == 1)
            #expect(listed.stdout.contains(#""error":"mirror refused it""#) && listed.stdout.contains(#""entityKey":"C0000000042""#))
            let retried = try await Self.crmctl(["feeds", "retry", "--producer", "customer", "--address", address])
            #expect(retried.status == 0, "\(retried.stderr)")
            #expect(retried.stdout.contains(#""applied":1"#))
            #expect(applied.value == 1)
            #expect(try await Self.crmctl(["feeds", "dead-letters", "--address", address]).stdout.isEmpty)
            #expect(try await Self.crmctl(["feeds", "dead-letters", "--all", "--address", address]).stdout.contains(#""resolvedAt""#))
            let unknown = try await Self.crmctl(["feeds", "retry", "--producer", "nobody", "--address", address])
            #expect(unknown.status == 15, "NOT_FOUND")
        }
    }

    @Test("marketing export: a scheduled campaign's targets as CSV with a header or as JSON lines; a draft is refused")
    func marketingExport() async throws {
        let market = try PipelineTests.Market()
        market.at(2027, 3, 1)
        let sms = CampaignTests.sms()
        for number in 1...3 { try await market.customer(CampaignTests.id(number)) { $0.consents = sms } }
        var save = Crm_Marketing_V1_SaveSegmentRequest()
        save.name = "Beijing"
        save.filter.all = [SegmentTests.condition(.branch, .equals, "BJ-01")]
        let segmentRequest = save
        let segment = try await market.write { pipeline, db in try Segments(pipeline: pipeline).save(segmentRequest, db) }.segment
        let draft = try await CampaignTests.campaign(market, segment: segment.id)
        let scheduled = try await CampaignTests.status(
            market, try await CampaignTests.build(market, try await CampaignTests.campaign(market, segment: segment.id)), .scheduled)
        let pipeline = market.pipeline
        try await withServer({ MarketingHandlers.register(into: &$0, store: market.store, pipeline: pipeline) }) { port in
            let address = "127.0.0.1:\(port)"
            let csv = try await Self.crmctl(["marketing", "export", "--campaign", scheduled.id, "--address", address])
            #expect(csv.status == 0, "\(csv.stderr)")
            #expect(csv.stdout.split(separator: "\n") == [
                "campaign_id,customer_id,channel,relationship_manager_id,branch_id",
                "M0000000002,C0000000001,sms,RM001,BJ-01", "M0000000002,C0000000002,sms,RM001,BJ-01", "M0000000002,C0000000003,sms,RM001,BJ-01",
            ])
            let lines = try await Self.crmctl(["marketing", "export", "--campaign", scheduled.id, "--format", "jsonl", "--address", address])
            #expect(lines.stdout.split(separator: "\n").count == 3)
            #expect(lines.stdout.contains(#""customerId":"C0000000003""#))
            let refused = try await Self.crmctl(["marketing", "export", "--campaign", draft.id, "--address", address])
            #expect(refused.status == 19, "FAILED_PRECONDITION")
            #expect(refused.stderr.contains("CAMPAIGN_NOT_EXPORTABLE"))
        }
    }

    @Test("errors: the code and message, JSON on stdout, the exit status 10 + the code")
    func errors() async throws {
        try await withServer { port in
            let address = "127.0.0.1:\(port)"
            let badJSON = try await Self.crmctl(["call", "System.Echo", #"{"payload": 42}"#, "--address", address])
            #expect(badJSON.status == 13)
            #expect(badJSON.stdout.contains("INVALID_ARGUMENT"))
            #expect(badJSON.stderr.contains("INVALID_ARGUMENT"))

            let tooMany = try await Self.crmctl(["call", "System.EchoStream", #"{"count": 100001}"#, "--address", address])
            #expect(tooMany.status == 13)
            #expect(tooMany.stdout.contains("count"))
        }
        let unknown = try await Self.crmctl(["call", "Nope.Nothing", "{}"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("no method Nope.Nothing"))

        let noServer = try await Self.crmctl(["health", "--address", "127.0.0.1:1"])
        #expect(noServer.status == 24, "UNAVAILABLE")
        #expect(noServer.stdout.contains("UNAVAILABLE"))

        let badAddress = try await Self.crmctl(["health", "--address", "nowhere"])
        #expect(badAddress.status != 0)
        #expect(badAddress.stderr.contains("host:port"))
    }

    @Test("list and describe need no server")
    func listAndDescribe() async throws {
        let list = try await Self.crmctl(["list"])
        #expect(list.status == 0)
        for method in MethodRegistry.all { #expect(list.stdout.contains(method.name)) }
        let describe = try await Self.crmctl(["describe", "System.EchoStream"])
        #expect(describe.status == 0)
        #expect(describe.stdout.contains("\"count\""))
        #expect(describe.stdout.contains("server-stream"))
    }

    /// `crmctl ARGUMENTS | head -N` in bash: crmctl's status and stderr, and what head printed.
    static func piped(_ arguments: [String], head lines: Int) async throws -> (status: Int32, stdout: String, stderr: String) {
        let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let crmctl = Executables.folder.appendingPathComponent("crmctl").path
        let script = "\(crmctl) \(quoted) 2>crmctl.err | head -\(lines); status=${PIPESTATUS[0]}; cat crmctl.err >&2; exit $status"
        let folder = try TemporaryFolder("crmctl-pipe")
        let result = try await Executables.run("/bin/bash", ["-c", script], directory: folder.url)
        return (result.status, result.stdout, result.stderr)
    }

    @Test("a reader that stops early (| head) ends crmctl quietly with status 0, not by a signal or a crash")
    func brokenPipe() async throws {
        try await withServer { port in
            let result = try await Self.piped(
                ["call", "System.EchoStream", #"{"payload": "aGk=", "count": 100000}"#, "--address", "127.0.0.1:\(port)"], head: 2)
            #expect(result.stdout.split(separator: "\n").count == 2)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.isEmpty, "\(result.stderr)")
        }
    }

    @Test("--timeout ends a stream that does not end: DEADLINE_EXCEEDED, status 14; -H sends metadata; requests from stdin and @file; --pretty")
    func streamsMetadataAndInput() async throws {
        let seen = Recorder<[Metadata]>([])
        try await withServer({ router in
            router.register(FeedMethods.subscribe) { _, _, _ in try await Task.sleep(for: .seconds(60)) }
            router.register(CustomerMethods.get) { request, context in
                seen.update { $0.append(context.metadata) }
                var answer = Crm_Customer_V1_GetCustomerResponse()
                answer.customer.id = request.id
                return answer
            }
        }) { port in
            let address = "127.0.0.1:\(port)"
            let started = ContinuousClock.now
            let endless = try await Self.crmctl(["call", "Feed.Subscribe", #"{"consumer": "probe"}"#, "--address", address, "--timeout", "1"])
            #expect(endless.status == 14, "\(endless.stderr)")
            #expect(endless.stdout.contains("DEADLINE_EXCEEDED"))
            #expect(ContinuousClock.now - started < .seconds(20))

            let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            let withHeaders = try await Executables.run(
                "crmctl", ["call", "Customer.Get", "-", "--address", address, "-H", "traceparent=\(traceparent)", "-H", "tracestate=bank=1", "-H", "end-user=u42", "--pretty"],
                input: #"{"id": "C0000000007"}"#)
            #expect(withHeaders.status == 0, "\(withHeaders.stderr)")
            #expect(withHeaders.stdout.contains("\n"), "indented")
            #expect(withHeaders.stdout.split(separator: "\n").count > 2, "\(withHeaders.stdout)")
            #expect(withHeaders.stdout.contains("C0000000007"))
            #expect(seen.value.first?.traceparent == traceparent)
            #expect(seen.value.first?.tracestate == "bank=1")

            let folder = try TemporaryFolder("crmctl-request")
            try Data(#"{"id": "C0000000008"}"#.utf8).write(to: folder.url.appendingPathComponent("get.json"))
            let fromFile = try await Executables.run("crmctl", ["call", "Customer.Get", "@get.json", "--address", address], directory: folder.url)
            #expect(fromFile.stdout == #"{"customer":{"id":"C0000000008"}}"# + "\n", "\(fromFile.stderr)")
            let missingFile = try await Executables.run("crmctl", ["call", "Customer.Get", "@nothing.json", "--address", address], directory: folder.url)
            #expect(missingFile.status == 64)
            #expect(missingFile.stderr.contains("cannot read the request file nothing.json"))
            let badHeader = try await Self.crmctl(["call", "System.Echo", "{}", "--address", address, "-H", "caller-system=forged"])
            #expect(badHeader.status == 64)
            #expect(badHeader.stderr.contains("not metadata a caller may send"))
        }
    }

    @Test("a TLS file that cannot be read is named, status 64, not a failed connection")
    func missingTLSFile() async throws {
        let pki = GatewayHarness.pki
        let result = try await Self.crmctl([
            "health", "--address", "127.0.0.1:1", "--tls-cert", pki.path("client.pem"), "--tls-key", pki.path("client.key"),
            "--tls-ca", "/nonexistent/ca.pem",
        ])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--tls-ca: cannot read /nonexistent/ca.pem: No such file or directory"), "\(result.stderr)")
        #expect(!result.stdout.contains("UNAVAILABLE"))
    }

    @Test("describe expands nested messages to a depth, lists enum values, and describes a message or an enum by name; completion knows the methods")
    func describeRecursively() async throws {
        let method = try await Self.crmctl(["describe", "Customer.Create", "--depth", "2"])
        #expect(method.status == 0)
        #expect(method.stdout.contains("CUSTOMER_KIND_INDIVIDUAL"), "enum values of a field")
        #expect(method.stdout.contains("\"nameZh\""), "a field of a nested message (profile.individual)")
        let shallow = try await Self.crmctl(["describe", "Customer.Create", "--depth", "0"])
        #expect(!shallow.stdout.contains("\"nameZh\""))
        let message = try await Self.crmctl(["describe", "crm.customer.v1.CustomerProfile", "--depth", "1"])
        #expect(message.status == 0)
        #expect(message.stdout.contains("\"birthDate\""))
        let enumeration = try await Self.crmctl(["describe", "crm.customer.v1.CustomerStatus"])
        #expect(enumeration.stdout.contains("CUSTOMER_STATUS_MERGED"))
        let unknown = try await Self.crmctl(["describe", "crm.nothing.v1.Nothing"])
        #expect(unknown.status == 64)
        let deep = try await Self.crmctl(["describe", "Customer.GetView", "--depth", "16"])
        #expect(deep.status == 0, "a deep expansion ends (a type is not expanded inside itself)")
        #expect(try await Self.crmctl(["describe", "Customer.Get", "--depth", "17"]).status == 64)

        let completion = try await Self.crmctl(["--generate-completion-script", "bash"])
        #expect(completion.stdout.contains("Customer.Create"))
    }
}
