internal import ArgumentParser
internal import CustomerService
internal import Foundation
internal import GRDB
internal import Logging
internal import ServiceRuntime
internal import WireProtocol
internal import CRMAPI

/// `crm-bench load-customers`: fills a fresh CustomerService database with synthetic customers
/// through the service's own rules (validation, duplicate checks, audit rows, grading), 1,000 per
/// transaction, straight into SQLite: loading a million through the network would measure the
/// loader, not the service.
struct LoadCustomers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load-customers",
        abstract: "Load N synthetic customers (with accounts and households) into a new CustomerService database.")

    @Option(help: "How many customers.")
    var count = 100_000

    @Option(help: "The database file to create (its folder is created too); it must not hold customers yet.")
    var database = "var/bench/customer.sqlite"

    @Option(help: "Customers per transaction.")
    var batch = 1_000

    @Option(help: "SQLite page cache in MiB: inserts into the random-order indexes slow down as soon as they outgrow it.")
    var cacheMib = 2_048

    func run() async throws {
        let url = URL(fileURLWithPath: database)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var logger = Logger(label: "crm-bench")
        logger.logLevel = .warning
        // Bulk loading does not need each batch on disk before the next; the final checkpoint does.
        let store = try Store(configuration: .init(path: database, durability: .normal, cacheMiB: cacheMib), migrator: CustomerSchema.migrator, logger: logger)
        let existing = try await store.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM customer") ?? 0 }
        guard existing == 0 else { throw ValidationError("\(database) already holds \(existing) customers; give a new file") }

        let directory = CustomerDirectory()
        let caller = Caller(system: "crm-bench-loader", endUser: "", role: "servicing")
        let started = Date()
        var loaded = 0
        while loaded < count {
            let range = loaded..<min(count, loaded + batch)
            // With their change events, as crm-customer commits them, so that a new consumer of the
            // customer feed (ServiceDesk's and Marketing's mirrors) catches up from the change log.
            try await store.pool.write { db in try directory.publishingChanges(db) { try Self.load(range, directory: directory, caller: caller, db) } }
            loaded = range.upperBound
            if loaded % 50_000 == 0 || loaded == count {
                let rate = Double(loaded) / Date().timeIntervalSince(started)
                FileHandle.standardError.write(Data(String(format: "%9d customers  %6.0f/s\n", loaded, rate).utf8))
            }
        }
        try await store.pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        let seconds = Date().timeIntervalSince(started)
        let stats = try await store.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT (SELECT count(*) FROM customer) AS customers, (SELECT count(*) FROM account) AS accounts,
                           (SELECT count(*) FROM household) AS households, (SELECT count(*) FROM audit_log) AS audit_rows
                    """
            ).map { row in [row["customers"], row["accounts"], row["households"], row["audit_rows"]] as [Int] } ?? []
        }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: database)[.size] as? Int) ?? 0
        print(
            String(
                format: "loaded %d customers, %d accounts, %d households, %d audit rows in %.0f s (%.0f customers/s); database %.1f MiB (%.0f bytes per customer)",
                stats[0], stats[1], stats[2], stats[3], seconds, Double(count) / seconds, Double(bytes) / 1_048_576,
                Double(bytes) / Double(max(count, 1))))
    }

    /// One transaction: the customers, their accounts, and a household for every 30th person with
    /// the two after them.
    static func load(_ range: Range<Int>, directory: CustomerDirectory, caller: Caller, _ db: Database) throws {
        var holdings: [Crm_Customer_V1_AccountHolding] = []
        var ids: [Int: String] = [:]
        for index in range {
            var request = Crm_Customer_V1_CreateCustomerRequest()
            request.profile = SyntheticCustomers.profile(index)
            let id = try directory.create(request, caller: caller, db).customer.id
            // Customer ids follow the load order, which the benchmark relies on.
            guard id == "C" + String(format: "%010d", index + 1) else {
                throw ValidationError("customer \(index) got id \(id): the database was not fresh")
            }
            ids[index] = id
            holdings += SyntheticCustomers.holdings(index, customerID: id)
        }
        for start in stride(from: 0, to: holdings.count, by: CustomerDirectory.maxHoldingsPerCall) {
            var request = Crm_Customer_V1_UpsertAccountsRequest()
            request.holdings = Array(holdings[start..<min(holdings.count, start + CustomerDirectory.maxHoldingsPerCall)])
            let response = try directory.upsertAccounts(request, caller: caller, db)
            guard response.rejected == 0 else {
                throw ValidationError("accounts rejected: \(response.results.first { $0.outcome == .rejected }.map { "\($0.field) \($0.problem)" } ?? "")")
            }
        }
        for index in range where index % 30 == 0 && index + 2 < range.upperBound
            && !(index...(index + 2)).contains(where: SyntheticCustomers.isCorporate)
        {
            var request = Crm_Customer_V1_CreateHouseholdRequest()
            request.name = "Household \(index)"
            request.members = [(index, Crm_Customer_V1_HouseholdRole.head), (index + 1, .spouse), (index + 2, .child)].map { index, role in
                var member = Crm_Customer_V1_HouseholdMember()
                member.customerID = ids[index]!
                member.role = role
                return member
            }
            _ = try directory.createHousehold(request, caller: caller, db)
        }
    }
}
