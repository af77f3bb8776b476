internal import ServiceRuntime
internal import Synchronization
internal import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// The `update` workload: Customer.Update of the preferred channel, a read-modify-write. Each worker
/// owns a block of ``blockSize`` customers and updates them in turn from the version its last update
/// returned, so versions never conflict; a customer it has not seen yet is read first (Customer.Get).
/// ``readAhead(workers:)`` reads them all before a measurement, so that `update` measures updates
/// alone (in the bank-day mix the first update of each customer still reads it first).
final class CustomerUpdates: Sendable {
    /// Customers a worker cycles through. Small so that the read ahead is quick (2,048 reads for 256
    /// workers); before this, each worker owned 1/1,024 of the customers (97 of 100,000), and a run
    /// of under about 25 s at 256 in flight never got past the first reads: every update measured
    /// carried a Customer.Get and its access row.
    static let blockSize = 8

    private let targets: Targets
    private let count: Int
    private let known = Mutex<[Int: Crm_Customer_V1_Customer]>([:])

    init(targets: Targets, count: Int) {
        (self.targets, self.count) = (targets, count)
    }

    /// The customer that iteration `iteration` of worker `worker` updates.
    private func index(_ worker: Int, _ iteration: Int) -> Int {
        (worker % 1_024 * Self.blockSize + iteration % Self.blockSize) % count
    }

    /// One update (after a read if the customer is not known yet).
    func call(_ worker: Int, _ iteration: Int) async throws {
        let index = index(worker, iteration)
        let connection = targets.customer(worker)
        let customer: Crm_Customer_V1_Customer
        if let cached = known.withLock({ $0[index] }) {
            customer = cached
        } else {
            customer = try await read(index, worker: worker)
        }
        var update = Crm_Customer_V1_UpdateCustomerRequest()
        update.id = customer.id
        update.expectedVersion = customer.version
        update.profile = customer.profile
        update.profile.preferredChannel = customer.profile.preferredChannel == .sms ? .email : .sms
        do {
            let updated = try await connection.unary(CustomerMethods.update, update, metadata: targets.metadata).customer
            known.withLock { $0[index] = updated }
        } catch {
            // Another worker of the same block (more than 1,024 workers) got there first: read again next time.
            known.withLock { $0[index] = nil }
            throw error
        }
    }

    /// Reads, 64 at a time, the customers of `workers` workers that are not known yet.
    func readAhead(workers: Int) async throws {
        let wanted = Set((0..<min(workers, 1_024)).flatMap { worker in (0..<Self.blockSize).map { index(worker, $0) } })
        let missing = known.withLock { known in wanted.filter { known[$0] == nil } }.sorted()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (position, index) in missing.enumerated() {
                if position >= 64 { try await group.next() }
                group.addTask {
                    let customer = try await self.read(index, worker: position)
                    self.known.withLock { $0[index] = customer }
                }
            }
            try await group.waitForAll()
        }
    }

    private func read(_ index: Int, worker: Int) async throws -> Crm_Customer_V1_Customer {
        var get = Crm_Customer_V1_GetCustomerRequest()
        get.id = Workload.customerID(index)
        return try await targets.customer(worker).unary(CustomerMethods.get, get, metadata: targets.metadata).customer
    }
}
