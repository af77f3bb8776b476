internal import GRDB
public import ServiceRuntime
internal import SwiftProtobuf
internal import WireProtocol

/// Connects MarketingService's methods to the router: reads on the pool's readers, changes in one
/// write transaction each (idempotent when the call carries a key), the rules in ``Pipeline``.
public enum MarketingHandlers {
    public static func register(into router: inout RPCRouter, store: Store, pipeline: Pipeline = Pipeline()) {
        let tasks = TaskBook(pipeline: pipeline)
        let segments = Segments(pipeline: pipeline)
        let campaigns = Campaigns(pipeline: pipeline)
        let performance = Performance(pipeline: pipeline)
        let offers = NextBestOffers(pipeline: pipeline)
        // Marketing publishes a change feed (opportunity events).
        FeedHandlers.register(into: &router, store: store)
        router.register(MarketingMethods.createOpportunity) { request, context in
            let actor = Pipeline.actor(context)
            return try await store.write(idempotentFor: context, request: request) { db in try pipeline.create(request, actor: actor, db) }
        }
        router.register(MarketingMethods.getOpportunity) { request, _ in try await store.read { db in try pipeline.get(request, db) } }
        router.register(MarketingMethods.moveOpportunity) { request, context in
            let actor = Pipeline.actor(context)
            return try await store.write(idempotentFor: context, request: request) { db in try pipeline.move(request, actor: actor, db) }
        }
        router.register(MarketingMethods.listOpportunities) { request, _ in try await store.read { db in try pipeline.list(request, db) } }
        router.register(MarketingMethods.setStageProbabilities) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try pipeline.setProbabilities(request, db) }
        }
        router.register(MarketingMethods.pipelineReport) { request, _ in try await store.read { db in try pipeline.report(request, db) } }
        router.register(MarketingMethods.createTask) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try tasks.create(request, db) }
        }
        router.register(MarketingMethods.closeTask) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try tasks.close(request, db) }
        }
        router.register(MarketingMethods.listTasks) { request, _ in try await store.read { db in try tasks.list(request, db) } }
        router.register(MarketingMethods.generateRelationshipEvents) { _, _ in try await store.write { db in try tasks.generate(db) } }
        router.register(MarketingMethods.saveSegment) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try segments.save(request, db) }
        }
        router.register(MarketingMethods.setCustomerTags) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try segments.setTags(request, db) }
        }
        router.register(MarketingMethods.countSegment) { request, _ in try await store.read { db in try segments.count(request, db) } }
        router.register(MarketingMethods.listSegmentMembers) { request, _ in try await store.read { db in try segments.members(request, db) } }
        router.register(MarketingMethods.createCampaign) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try campaigns.create(request, db) }
        }
        router.register(MarketingMethods.buildTargetList) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try campaigns.buildTargetList(request, db) }
        }
        router.register(MarketingMethods.setCampaignStatus) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try campaigns.setStatus(request, db) }
        }
        router.register(MarketingMethods.recordCampaignResponse) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try campaigns.recordResponse(request, db) }
        }
        router.register(MarketingMethods.campaignReport) { request, _ in try await store.read { db in try campaigns.report(request, db) } }
        router.register(MarketingMethods.setTargets) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try performance.setTargets(request, db) }
        }
        router.register(MarketingMethods.performanceReport) { request, _ in try await store.read { db in try performance.report(request, db) } }
        router.register(MarketingMethods.contributionReport) { request, _ in
            try await store.read { db in try performance.contribution(request, db) }
        }
        router.register(MarketingMethods.setOfferRules) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try offers.setRules(request, actor: context.actor, db) }
        }
        router.register(MarketingMethods.getOfferRules) { request, _ in try await store.read { db in try offers.getRules(request, db) } }
        router.register(MarketingMethods.nextBestOffers) { request, _ in try await store.read { db in try offers.offers(request, db) } }
        // Batch by batch, each on a reader: a long export never holds one read transaction open.
        router.register(MarketingMethods.exportTargetList) { request, writer, _ in
            var after = ""
            while true {
                let from = after
                let batch = try await store.read { db in try campaigns.exportBatch(campaignID: request.campaignID, afterCustomerID: from, db) }
                for entry in batch { try await writer.write(entry) }
                guard batch.count == Campaigns.exportBatch, let last = batch.last else { return }
                after = last.customerID
            }
        }
        router.register(MarketingMethods.setEventRules) { request, context in
            try await store.write(idempotentFor: context, request: request) { db in try tasks.setRules(request, actor: context.actor, db) }
        }
        router.register(MarketingMethods.getEventRules) { request, _ in try await store.read { db in try tasks.getRules(request, db) } }
    }
}
