import Foundation
import GRDB
public import ServiceRuntime
import Testing
public import WireProtocol
public import CRMAPI
public import RPCTransport

/// The transactions the generated `register(into:)` of a handler protocol opens through
/// ``StoreBinder``, one per access kind.
@Suite("Store binder")
struct StoreBinderTests {
    /// Echo stands in for a method: it adds one to the counter and answers with the new value.
    static func countingBody(_ request: Crm_System_V1_EchoRequest, _ transaction: StoreTransaction) throws -> Crm_System_V1_EchoResponse {
        try transaction.db.execute(sql: "UPDATE counter SET value = value + 1")
        if request.payload == Data("fail".utf8) { throw RPCError(code: .failedPrecondition, message: "refused", processing: .notProcessed) }
        var response = Crm_System_V1_EchoResponse()
        response.payload = Data("\(try Int.fetchOne(transaction.db, sql: "SELECT value FROM counter")!) \(transaction.caller.actor)".utf8)
        return response
    }

    static func counter(_ store: Store) async throws -> Int? {
        try await store.read { try Int.fetchOne($0, sql: "SELECT value FROM counter") }
    }

    @Test("a change runs once per idempotency key, with its around-change step in the same transaction, and rolls both back when it throws")
    func change() async throws {
        let store = try Store(configuration: .init(path: try StoreTests.temporaryPath()), migrator: StoreTests.counterMigrator, logger: testLogger)
        try await store.write { db in try db.execute(sql: "CREATE TABLE around (n INTEGER)") }
        var binder = StoreBinder(router: .withSystemHandlers(), store: store) { db, body in
            try body()
            try db.execute(sql: "INSERT INTO around (n) SELECT value FROM counter")
        }
        binder.bindChange(SystemMethods.echo, Self.countingBody)
        try await withTestServer(router: binder.router) { _, port in
            let connection = try await RPCConnection.connect(host: "127.0.0.1", port: port)
            let keyed = Metadata(idempotencyKey: "k-1")
            let first = try await connection.unary(SystemMethods.echo, echoRequest("a"), metadata: keyed)
            let retry = try await connection.unary(SystemMethods.echo, echoRequest("a"), metadata: keyed)
            #expect(first == retry)
            #expect(String(decoding: first.payload, as: UTF8.self) == "1 direct")
            await #expect(throws: RPCError.self) { try await connection.unary(SystemMethods.echo, echoRequest("fail")) }
            await connection.close()
        }
        #expect(try await Self.counter(store) == 1)
        #expect(try await store.read { try Int.fetchAll($0, sql: "SELECT n FROM around") } == [1])
    }

    @Test("a read runs on a reader, where a write is refused and changes nothing")
    func read() async throws {
        let store = try Store(configuration: .init(path: try StoreTests.temporaryPath()), migrator: StoreTests.counterMigrator, logger: testLogger)
        var binder = StoreBinder(router: .withSystemHandlers(), store: store)
        binder.bindRead(SystemMethods.echo, Self.countingBody)
        try await withTestServer(router: binder.router) { _, port in
            let connection = try await RPCConnection.connect(host: "127.0.0.1", port: port)
            await #expect(throws: RPCError.self) { try await connection.unary(SystemMethods.echo, echoRequest("a")) }
            await connection.close()
        }
        #expect(try await Self.counter(store) == 0)
    }

    @Test("a response that is masked for its caller is masked after its transaction, by the caller's policy")
    func masking() async throws {
        let store = try Store(configuration: .init(path: try StoreTests.temporaryPath()), migrator: StoreTests.counterMigrator, logger: testLogger)
        var binder = StoreBinder(router: .withSystemHandlers(), store: store)
        binder.bindRead(SystemMethods.health) { _, _ in
            var response = Crm_System_V1_HealthResponse()
            response.server = "in clear"
            return response
        }
        try await withTestServer(router: binder.router) { _, port in
            let connection = try await RPCConnection.connect(host: "127.0.0.1", port: port)
            // A direct caller without a role sees data as the restricted policy shows it.
            let response = try await connection.unary(SystemMethods.health, Crm_System_V1_HealthRequest())
            #expect(response.server == "masked for a restricted caller")
            await connection.close()
        }
    }
}

extension Crm_System_V1_HealthResponse: MaskedForCaller {
    public func masked(by policy: MaskingPolicy) -> Self {
        var masked = self
        masked.server = policy == .restricted ? "masked for a restricted caller" : "masked"
        return masked
    }
}
