@testable import CustomerService
import Foundation
import GRDB
import Logging
import NIOCore
import ServiceLifecycle
import ServiceRuntime
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// A CustomerService database in a fresh temporary folder, removed when the value is released.
final class TemporaryCustomerStore: Sendable {
    let folder: URL
    let store: Store
    /// The read-access log, in its own file beside the customer database, as the server has it.
    let accessLog: AccessLog
    let directory: CustomerDirectory

    /// A new database, or with `restoredFrom` one restored from that backup as `crm-admin restore` does.
    init(now: Date = Date(timeIntervalSince1970: 1_795_000_000), restoredFrom backup: String? = nil) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("customer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let path = folder.appendingPathComponent("customer.sqlite").path
        if let backup { _ = try DatabaseMaintenance.restore(from: backup, database: path) }
        store = try Store(configuration: .init(path: path), migrator: CustomerSchema.migrator, logger: logger)
        accessLog = try AccessLog(path: AccessLog.defaultPath(besides: path), besides: store.configuration, logger: logger)
        directory = CustomerDirectory(now: { now })
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    /// A write transaction with the change events it causes, as the handlers run it.
    func write<T: Sendable>(_ body: @escaping @Sendable (CustomerDirectory, Database) throws -> T) async throws -> T {
        let directory = self.directory
        return try await store.pool.write { db in try directory.publishingChanges(db) { try body(directory, db) } }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (CustomerDirectory, Database) throws -> T) async throws -> T {
        let directory = self.directory
        return try await store.pool.read { db in try body(directory, db) }
    }

    func create(_ profile: Crm_Customer_V1_CustomerProfile, caller: Caller = .servicing) async throws -> Crm_Customer_V1_CreateCustomerResponse {
        var request = Crm_Customer_V1_CreateCustomerRequest()
        request.profile = profile
        let finished = request
        return try await write { directory, db in try directory.create(finished, caller: caller, db) }
    }

    func update(
        _ id: String, version: Int64, to profile: Crm_Customer_V1_CustomerProfile, caller: Caller = .servicing
    ) async throws -> Crm_Customer_V1_UpdateCustomerResponse {
        var request = Crm_Customer_V1_UpdateCustomerRequest()
        request.id = id
        request.expectedVersion = version
        request.profile = profile
        let finished = request
        return try await write { directory, db in try directory.update(finished, caller: caller, db) }
    }

    /// Deactivates (`active: false`) or reactivates a customer.
    func setActive(
        _ active: Bool, _ id: String, version: Int64, reason: String = "customer request", caller: Caller = .servicing
    ) async throws -> Crm_Customer_V1_Customer {
        var request = Crm_Customer_V1_SetCustomerActiveRequest()
        request.id = id
        request.expectedVersion = version
        request.reason = reason
        let finished = request
        return try await write { directory, db in try directory.setActive(active, finished, caller: caller, db) }.customer
    }

    /// Gets a customer as Customer.Get does: on a pool reader, the read of a caller who sees
    /// personal data written to the access log.
    func get(_ id: String, caller: Caller = .servicing) async throws -> Crm_Customer_V1_Customer {
        var request = Crm_Customer_V1_GetCustomerRequest()
        request.id = id
        let (finished, directory) = (request, self.directory)
        return try await accessLog.read(of: id, by: caller, on: store, directory: directory) { db in
            try directory.get(finished, caller: caller, db)
        }.customer
    }

    /// The access log's rows, oldest first, as `caller_system action customer_key`.
    func accessRows() async throws -> [String] {
        try await accessLog.store.read { db in
            try Row.fetchAll(db, sql: "SELECT caller_system, action, customer_key FROM access_log ORDER BY sequence").map { row in
                "\(row[0] as String) \(row[1] as String) \(row[2] as Int64)"
            }
        }
    }

    func verifyAudit() async throws -> Crm_Customer_V1_VerifyAuditResponse {
        try await CustomerHandlers.verifyAudit(store: store, accessLog: accessLog)
    }

    func listAudit(_ request: Crm_Customer_V1_ListAuditRequest, caller: Caller) async throws -> Crm_Customer_V1_ListAuditResponse {
        try await CustomerHandlers.listAudit(request, caller: caller, store: store, accessLog: accessLog, directory: directory)
    }
}

extension Caller {
    static let servicing = Caller(system: "branch-teller", endUser: "u1001", role: "servicing", requestID: "0af7651916cd43dd8448eb211c80319c")
    static let marketing = Caller(system: "campaign-engine", endUser: "m2002", role: "marketing")
    static let kyc = Caller(system: "kyc-portal", endUser: "k3003", role: "kyc")
}

/// Realistic profiles with valid document numbers.
enum Profiles {
    /// The example number of GB 11643-1999 itself (born 1949-12-31, check character X).
    static let standardResidentID = "11010519491231002X"

    static func individual(
        nameZh: String = "张三", nameLatin: String = "Zhang San", birthDate: String = "1949-12-31",
        residentID: String? = standardResidentID, phone: String? = "13812345678", email: String? = nil
    ) -> Crm_Customer_V1_CustomerProfile {
        var profile = Crm_Customer_V1_CustomerProfile()
        profile.kind = .individual
        profile.individual.nameZh = nameZh
        profile.individual.nameLatin = nameLatin
        profile.individual.birthDate = birthDate
        profile.individual.gender = .male
        profile.individual.nationality = "CHN"
        if let residentID {
            var document = Crm_Customer_V1_IdentityDocument()
            document.type = .prcResidentID
            document.number = residentID
            profile.documents.append(document)
        }
        if let phone {
            var contact = Crm_Customer_V1_Contact()
            contact.kind = .phone
            contact.value = phone
            contact.primary = true
            profile.contacts.append(contact)
        }
        if let email {
            var contact = Crm_Customer_V1_Contact()
            contact.kind = .email
            contact.value = email
            profile.contacts.append(contact)
        }
        profile.relationshipManagerID = "RM001"
        profile.branchID = "BJ-01"
        return profile
    }

    /// A valid resident id number for a birth date, built with the standard's check character.
    static func residentID(region: String = "110105", birthDate: String, sequence: Int) -> String {
        let body = region + birthDate.replacingOccurrences(of: "-", with: "") + String(format: "%03d", sequence)
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(body.compactMap(\.wholeNumberValue), weights).reduce(0) { $0 + $1.0 * $1.1 }
        return body + String(Array("10X98765432")[sum % 11])
    }
}

extension TemporaryCustomerStore {
    func merge(
        survivor: Crm_Customer_V1_Customer, merged: Crm_Customer_V1_Customer, reason: String = "same person, two records"
    ) async throws -> Crm_Customer_V1_MergeCustomersResponse {
        var request = Crm_Customer_V1_MergeCustomersRequest()
        request.survivorID = survivor.id
        request.survivorExpectedVersion = survivor.version
        request.mergedID = merged.id
        request.mergedExpectedVersion = merged.version
        request.reason = reason
        let finished = request
        return try await write { directory, db in try directory.merge(finished, caller: .servicing, db) }
    }

    @discardableResult
    func erase(_ id: String, version: Int64, basis: String = "PIPL art. 47") async throws
        -> Crm_Customer_V1_EraseCustomerResponse
    {
        var request = Crm_Customer_V1_EraseCustomerRequest()
        request.id = id
        request.expectedVersion = version
        request.basis = basis
        let finished = request
        return try await write { directory, db in try directory.erase(finished, caller: .servicing, db) }
    }

    func unmerge(_ mergeID: UInt64, reason: String = "merged in error") async throws -> Crm_Customer_V1_UnmergeCustomersResponse {
        var request = Crm_Customer_V1_UnmergeCustomersRequest()
        request.mergeID = mergeID
        request.reason = reason
        let finished = request
        return try await write { directory, db in try directory.unmerge(finished, caller: .servicing, db) }
    }

    /// Every stored row of these customers, in CustomerImage's canonical bytes.
    func dump(_ ids: [String]) async throws -> Data {
        let keys = ids.compactMap(CustomerRecords.key(fromID:))
        return try await read { _, db in CustomerImage.encode(try CustomerImage.capture(keys: keys, db)) }
    }

    /// The full dump less the customer rows' version and update time: the content an unmerge
    /// restores exactly (under new versions).
    func content(_ ids: [String]) async throws -> Data {
        let keys = ids.compactMap(CustomerRecords.key(fromID:))
        return try await read { _, db in
            var tables = try CustomerImage.capture(keys: keys, db)
            let customer = tables[0]
            let kept = customer.columns.indices.filter { !["version", "updated_at_ms"].contains(customer.columns[$0]) }
            tables[0] = .init(name: customer.name, columns: kept.map { customer.columns[$0] }, rows: customer.rows.map { row in kept.map { row[$0] } })
            return CustomerImage.encode(tables)
        }
    }
}

extension TemporaryCustomerStore {
    func upsert(_ holdings: [Crm_Customer_V1_AccountHolding], directory: CustomerDirectory? = nil) async throws -> Crm_Customer_V1_UpsertAccountsResponse {
        var request = Crm_Customer_V1_UpsertAccountsRequest()
        request.holdings = holdings
        let finished = request
        let directory = directory ?? self.directory
        return try await store.pool.write { db in try directory.publishingChanges(db) { try directory.upsertAccounts(finished, caller: .servicing, db) } }
    }

    func view(_ id: String, caller: Caller = .servicing) async throws -> Crm_Customer_V1_CustomerView {
        var request = Crm_Customer_V1_GetCustomerViewRequest()
        request.id = id
        let (finished, directory) = (request, self.directory)
        return try await accessLog.read(of: id, by: caller, on: store, directory: directory) { db in
            try directory.getView(finished, caller: caller, db)
        }.view
    }

    func recordInteraction(_ id: String, subject: String = "annual review", atMs: Int64 = 0) async throws -> UInt64 {
        var request = Crm_Customer_V1_RecordInteractionRequest()
        request.interaction.customerID = id
        request.interaction.channel = .visit
        request.interaction.subject = subject
        request.interaction.outcome = "discussed a time deposit"
        request.interaction.handledBy = "RM001"
        request.interaction.at.milliseconds = atMs
        let finished = request
        return try await write { directory, db in try directory.recordInteraction(finished, caller: .servicing, db) }.interactionID
    }
}

enum Households {
    static func member(_ id: String, _ role: Crm_Customer_V1_HouseholdRole) -> Crm_Customer_V1_HouseholdMember {
        var member = Crm_Customer_V1_HouseholdMember()
        member.customerID = id
        member.role = role
        return member
    }
}

enum Holdings {
    static func make(
        _ number: String, customer: String, type: Crm_Customer_V1_ProductType = .current, role: Crm_Customer_V1_OwnershipRole = .owner,
        balanceYuan: Int64 = 10_000, currency: String = "CNY", reportingYuan: Int64? = nil, openedOn: String = "2020-05-01",
        closedOn: String = "", maturity: String = "", contributionYuan: Int64 = 10
    ) -> Crm_Customer_V1_AccountHolding {
        var holding = Crm_Customer_V1_AccountHolding()
        holding.accountNumber = number
        holding.customerID = customer
        holding.productType = type
        holding.role = role
        holding.balanceMinor = balanceYuan * 100
        holding.currency = currency
        holding.reportingBalanceMinor = (reportingYuan ?? (currency == "CNY" ? balanceYuan : 0)) * 100
        holding.openedOn = openedOn
        holding.closedOn = closedOn
        holding.maturityDate = maturity
        holding.monthlyContributionMinor = contributionYuan * 100
        return holding
    }
}

/// A server on a free loopback port while `body` runs, then drained.
enum CustomerServerHarness {
    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    static func serving(_ server: RPCServer, _ body: @Sendable (Int) async throws -> Void) async throws {
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await body(try await server.boundAddress().port!)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
