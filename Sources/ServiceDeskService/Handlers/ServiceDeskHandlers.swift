internal import GRDB
public import ServiceRuntime
internal import SwiftProtobuf
internal import WireProtocol

/// Connects ServiceDeskService's methods to the router: reads on the pool's readers, changes in one
/// write transaction each (idempotent when the call carries a key), the rule in ``CaseDesk``.
public enum ServiceDeskHandlers {
    public static func register(into router: inout RPCRouter, store: Store, desk: CaseDesk = CaseDesk()) {
        let knowledge = KnowledgeBase(now: desk.now)
        // ServiceDesk publishes a change feed (case and SLA events).
        FeedHandlers.register(into: &router, store: store)
        router.register(ServiceDeskMethods.openCase) { request, context in
            let actor = CaseDesk.actor(context)
            return try await store.write(idempotentFor: context, request: request) { db in try desk.open(request, actor: actor, db) }
        }
        router.register(ServiceDeskMethods.transitionCase) { request, context in
            let actor = CaseDesk.actor(context)
            return try await store.write(idempotentFor: context, request: request) { db in try desk.transition(request, actor: actor, db) }
        }
        router.register(ServiceDeskMethods.getCase) { request, _ in try await store.read { db in try desk.get(request, db) } }
        router.register(ServiceDeskMethods.listCases) { request, _ in try await store.read { db in try desk.list(request, db) } }
        router.register(ServiceDeskMethods.setSlaPolicies) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try desk.setPolicies(request, actor: context.actor, db) }
        }
        router.register(ServiceDeskMethods.getSlaPolicies) { request, _ in try await store.read { db in try desk.getPolicies(request, db) } }
        router.register(ServiceDeskMethods.setBusinessCalendar) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try desk.setCalendar(request, db) }
        }
        router.register(ServiceDeskMethods.sweepSla) { _, _ in
            let result = try await SLASweeper.sweepAll(store: store, desk: desk)
            var response = Crm_Servicedesk_V1_SweepSlaResponse()
            response.clocksChecked = UInt32(result.checked)
            response.warnings = UInt32(result.warnings)
            response.breaches = UInt32(result.breaches)
            return response
        }
        router.register(ServiceDeskMethods.recordSatisfaction) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try desk.recordSatisfaction(request, db) }
        }
        router.register(ServiceDeskMethods.caseReport) { request, _ in try await store.read { db in try CaseReport.run(request, db) } }
        router.register(ServiceDeskMethods.setQueue) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try desk.setQueue(request, db) }
        }
        router.register(ServiceDeskMethods.saveArticle) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try knowledge.save(request, db) }
        }
        router.register(ServiceDeskMethods.setArticleStatus) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try knowledge.setStatus(request, db) }
        }
        router.register(ServiceDeskMethods.searchArticles) { request, _ in try await store.read { db in try knowledge.search(request, db) } }
        router.register(ServiceDeskMethods.getArticle) { request, _ in try await store.read { db in try knowledge.get(request, db) } }
        router.register(ServiceDeskMethods.setCategories) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try desk.setCategories(request, actor: context.actor, db) }
        }
        router.register(ServiceDeskMethods.listCategories) { request, _ in try await store.read { db in try desk.listCategories(request, db) } }
        router.register(ServiceDeskMethods.linkArticle) { request, context in
            let actor = CaseDesk.actor(context)
            return try await store.write(idempotentFor: context, request: request) { db in try desk.linkArticle(request, actor: actor, db) }
        }
    }
}
