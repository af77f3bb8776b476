internal import GRDB
public import ServiceRuntime
public import WireProtocol

/// Connects CustomerService's methods to the router: each handler picks the transaction (a read on
/// the pool's readers, or a write, idempotent when the call carries a key) and runs the rule in
/// ``CustomerDirectory`` inside it.
public enum CustomerHandlers {
    public static func register(into router: inout RPCRouter, store: Store, directory: CustomerDirectory = CustomerDirectory()) {
        router.register(CustomerMethods.create) { request, context in
            let caller = Caller(context: context)
            return try await store.write(idempotentFor: context, request: request) { db in
                try directory.create(request, caller: caller, db)
            }
        }
        router.register(CustomerMethods.get) { request, context in
            let caller = Caller(context: context)
            if directory.readIsAudited(by: caller) {
                return try await store.pool.write { db in try directory.get(request, caller: caller, db) }
            }
            return try await store.pool.read { db in try directory.get(request, caller: caller, db) }
        }
        router.register(CustomerMethods.update) { request, context in
            let caller = Caller(context: context)
            return try await store.write(idempotentFor: context, request: request) { db in
                try directory.update(request, caller: caller, db)
            }
        }
        router.register(CustomerMethods.search) { request, _ in
            try await store.pool.read { db in try directory.search(request, db) }
        }
        router.register(CustomerMethods.deactivate) { request, context in
            let caller = Caller(context: context)
            return try await store.write(idempotentFor: context, request: request) { db in
                try directory.setActive(false, request, caller: caller, db)
            }
        }
        router.register(CustomerMethods.reactivate) { request, context in
            let caller = Caller(context: context)
            return try await store.write(idempotentFor: context, request: request) { db in
                try directory.setActive(true, request, caller: caller, db)
            }
        }
        router.register(CustomerMethods.verifyAudit) { _, _ in
            try await store.pool.read { db in try directory.verifyAudit(db) }
        }
        router.register(CustomerMethods.listAudit) { request, context in
            let caller = Caller(context: context)
            return try await store.pool.write { db in try directory.listAudit(request, caller: caller, db) }
        }
    }
}
