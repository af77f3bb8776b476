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
            #expect(try await Self.crmctl(["feeds", "dead-letters", "--all", "--address", address]).stdout.contains(#""resolvedAtMs""#))
            let unknown = try await Self.crmctl(["feeds", "retry", "--producer", "nobody", "--address", address])
            #expect(unknown.status == 1)
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
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("CAMPAIGN_NOT_EXPORTABLE"))
        }
    }

    @Test("errors: the code and message, JSON on stdout, status 1")
    func errors() async throws {
        try await withServer { port in
            let address = "127.0.0.1:\(port)"
            let badJSON = try await Self.crmctl(["call", "System.Echo", #"{"payload": 42}"#, "--address", address])
            #expect(badJSON.status == 1)
            #expect(badJSON.stdout.contains("INVALID_ARGUMENT"))
            #expect(badJSON.stderr.contains("INVALID_ARGUMENT"))

            let tooMany = try await Self.crmctl(["call", "System.EchoStream", #"{"count": 100001}"#, "--address", address])
            #expect(tooMany.status == 1)
            #expect(tooMany.stdout.contains("count"))
        }
        let unknown = try await Self.crmctl(["call", "Nope.Nothing", "{}"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("no method Nope.Nothing"))

        let noServer = try await Self.crmctl(["health", "--address", "127.0.0.1:1"])
        #expect(noServer.status == 1)
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
}
