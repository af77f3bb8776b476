@testable import CustomerService
import Foundation
import GRDB
import NIOCore
import ServiceRuntime
import SwiftProtobuf
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

@Suite("Customer change events")
struct CustomerEventTests {
    /// The change log as (type, entity, payload), oldest first.
    func events(_ fixture: TemporaryCustomerStore) async throws -> [(type: String, entity: String, payload: Crm_Customer_V1_CustomerChanged)] {
        let rows = try await fixture.read { _, db in
            try Row.fetchAll(db, sql: "SELECT type, entity_key, payload_type, payload FROM change_log ORDER BY sequence").map {
                (type: $0["type"] as String, entity: $0["entity_key"] as String, payloadType: $0["payload_type"] as String, payload: $0["payload"] as Data)
            }
        }
        return try rows.map { row in
            #expect(row.payloadType == "crm.customer.v1.CustomerChanged")
            return (row.type, row.entity, try Crm_Customer_V1_CustomerChanged(serializedBytes: row.payload))
        }
    }

    @Test("create, update, accounts, deactivate and reactivate each commit an event with the customer after the change")
    func lifecycle() async throws {
        let fixture = try TemporaryCustomerStore()
        let created = try await fixture.create(Profiles.individual()).customer
        var profile = created.profile
        profile.individual.occupation = "teacher"
        _ = try await fixture.update(created.id, version: 1, to: profile)
        _ = try await fixture.upsert([
            Holdings.make("6222000000000001", customer: created.id, balanceYuan: 250_000, contributionYuan: 300),
            Holdings.make("6222000000000002", customer: created.id, type: .loan, balanceYuan: 90_000, contributionYuan: 50),
            Holdings.make("6222000000000003", customer: created.id, balanceYuan: 0, closedOn: "2024-01-01", contributionYuan: 0),
        ])
        _ = try await fixture.setActive(false, created.id, version: 3, reason: "moved abroad")
        _ = try await fixture.setActive(true, created.id, version: 4, reason: "came back")
        // A refused change and reads commit nothing.
        _ = await #expect(throws: RPCError.self) { try await fixture.update(created.id, version: 1, to: profile) }
        _ = try await fixture.get(created.id, caller: .servicing)
        _ = try await fixture.view(created.id)

        let log = try await events(fixture)
        #expect(log.map(\.type) == ["customer.created", "customer.updated", "customer.updated", "customer.deactivated", "customer.reactivated"])
        #expect(Set(log.map(\.entity)) == [created.id])
        #expect(log.map(\.payload.version) == [1, 2, 3, 4, 5], "every event's version is above the one before")
        #expect(log[0].payload.nameZh == "张三" && log[0].payload.birthDate == "1949-12-31" && log[0].payload.branchID == "BJ-01")
        // Assets leave out the loan and the closed account; contribution counts every open owned account.
        #expect(log[2].payload.reportingAssetsMinor == 25_000_000)
        #expect(log[2].payload.monthlyContributionMinor == 35_000)
        let facts = try await fixture.read { _, db in try Grading.facts(customerKey: 1, db) }
        #expect((facts.assetsMinor, facts.monthlyContributionMinor) == (25_000_000, 35_000), "the event agrees with grading")
        #expect(log[2].payload.actions.contains("account"))
        // The open accounts go with it, for Marketing's maturity reminders, product segments and contribution.
        #expect(log[2].payload.accounts.map { "\($0.accountNumber) \($0.reportingBalanceMinor) \($0.monthlyContributionMinor)" } == [
            "6222000000000001 25000000 30000", "6222000000000002 9000000 5000",
        ])
        #expect(log[0].payload.accounts.isEmpty)
        #expect(log[3].payload.status == .inactive)
    }

    @Test("merge tells every service to re-key the merged customer to the survivor; unmerge re-keys it back")
    func mergeAndUnmerge() async throws {
        let fixture = try TemporaryCustomerStore()
        let survivor = try await fixture.create(Profiles.individual()).customer
        let merged = try await fixture.create(Profiles.individual(nameZh: "张三", nameLatin: "Zhang San", residentID: nil, phone: "13900000001")).customer
        let result = try await fixture.merge(survivor: survivor, merged: merged)
        _ = try await fixture.unmerge(result.mergeID)
        let log = try await events(fixture).dropFirst(2)
        #expect(log.map { "\($0.type) \($0.entity)" } == [
            "customer.updated C0000000001", "customer.merged C0000000002", "customer.unmerged C0000000001", "customer.unmerged C0000000002",
        ])
        let mergedEvent = try #require(log.first { $0.type == "customer.merged" })
        #expect(mergedEvent.payload.mergedIntoID == survivor.id && mergedEvent.payload.status == .merged)
        #expect(log.last?.payload.status == .active && log.last?.payload.mergedIntoID == "")
    }

    @Test("erasure emits customer.erased for the customer and for the records merged into it, without personal data")
    func erasure() async throws {
        let fixture = try TemporaryCustomerStore()
        let survivor = try await fixture.create(Profiles.individual()).customer
        let merged = try await fixture.create(Profiles.individual(nameZh: "张三", nameLatin: "Zhang San", residentID: nil, phone: "13900000001")).customer
        let result = try await fixture.merge(survivor: survivor, merged: merged)
        var erase = Crm_Customer_V1_EraseCustomerRequest()
        erase.id = survivor.id
        erase.expectedVersion = result.survivor.version
        erase.basis = "PIPL art. 47"
        let request = erase
        _ = try await fixture.write { directory, db in try directory.erase(request, caller: .servicing, db) }
        let erased = try await events(fixture).filter { $0.type == "customer.erased" }
        #expect(Set(erased.map(\.entity)) == [survivor.id, merged.id])
        #expect(erased.allSatisfy { $0.payload.nameZh.isEmpty && $0.payload.birthDate.isEmpty })
        #expect(try await fixture.read { _, db in try AuditLog.verify(db).firstBrokenSequence } == nil, "the chain still verifies")
    }

    @Test("changes through the server commit their events, and Feed.Subscribe delivers them")
    func throughTheServer() async throws {
        let fixture = try TemporaryCustomerStore()
        var router = RPCRouter()
        CustomerHandlers.register(into: &router, store: fixture.store, accessLog: fixture.accessLog, directory: fixture.directory)
        let server = RPCServer(configuration: .init(port: 0), router: router, logger: CustomerServerHarness.logger)
        try await CustomerServerHarness.serving(server) { port in
            let connection = try await RPCConnection.connect(host: "127.0.0.1", port: port)
            var create = Crm_Customer_V1_CreateCustomerRequest()
            create.profile = Profiles.individual()
            _ = try await connection.unary(CustomerMethods.create, create)
            var subscribe = Crm_Feed_V1_SubscribeRequest()
            subscribe.consumer = "test"
            let stream = try connection.serverStream(FeedMethods.subscribe, subscribe)
            var iterator = stream.makeAsyncIterator()
            let firstItem = try await iterator.next()
            let first = try #require(firstItem)
            #expect(first.type == "customer.created" && first.entityKey == "C0000000001" && first.sequence == 1)
            // Live: the next change arrives on the open stream.
            var update = Crm_Customer_V1_SetCustomerActiveRequest()
            update.id = "C0000000001"
            update.expectedVersion = 1
            update.reason = "dormant"
            _ = try await connection.unary(CustomerMethods.deactivate, update, timeout: .seconds(5))
            let secondItem = try await iterator.next()
            let second = try #require(secondItem)
            #expect(second.type == "customer.deactivated" && second.sequence == 2)
            // A graceful close would wait for the subscription, which never ends on its own.
            await connection.closeNow()
        }
    }
}
