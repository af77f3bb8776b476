internal import GRDB
public import ServiceRuntime
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI
public import RPCTransport

/// MarketingService's handlers: each forwards to its rule (``Pipeline``, ``TaskBook``, ``Segments``,
/// ``Campaigns``, ``Performance``, ``NextBestOffers``); the generated `register(into:)` of
/// ``MarketingServiceHandler`` opens the transaction each rpc's access kind names.
public struct MarketingHandlers: MarketingServiceHandler {
    let store: Store
    let pipeline: Pipeline
    let tasks: TaskBook
    let segments: Segments
    let campaigns: Campaigns
    let performance: Performance
    let offers: NextBestOffers

    init(store: Store, pipeline: Pipeline) {
        self.store = store
        self.pipeline = pipeline
        self.tasks = TaskBook(pipeline: pipeline)
        self.segments = Segments(pipeline: pipeline)
        self.campaigns = Campaigns(pipeline: pipeline)
        self.performance = Performance(pipeline: pipeline)
        self.offers = NextBestOffers(pipeline: pipeline)
    }

    /// Registers MarketingService's methods and its change feed (opportunity events).
    public static func register(into router: inout RPCRouter, store: Store, pipeline: Pipeline = Pipeline()) {
        FeedHandlers.register(into: &router, store: store)
        var binder = StoreBinder(router: router, store: store)
        MarketingHandlers(store: store, pipeline: pipeline).register(into: &binder)
        router = binder.router
    }

    public func createOpportunity(
        _ request: Crm_Marketing_V1_CreateOpportunityRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_CreateOpportunityResponse {
        try pipeline.create(request, actor: transaction.caller.actor, transaction.db)
    }

    public func getOpportunity(
        _ request: Crm_Marketing_V1_GetOpportunityRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_GetOpportunityResponse {
        try pipeline.get(request, transaction.db)
    }

    public func moveOpportunity(
        _ request: Crm_Marketing_V1_MoveOpportunityRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_MoveOpportunityResponse {
        try pipeline.move(request, actor: transaction.caller.actor, transaction.db)
    }

    public func listOpportunities(
        _ request: Crm_Marketing_V1_ListOpportunitiesRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_ListOpportunitiesResponse {
        try pipeline.list(request, transaction.db)
    }

    public func setStageProbabilities(
        _ request: Crm_Marketing_V1_SetStageProbabilitiesRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_SetStageProbabilitiesResponse {
        try pipeline.setProbabilities(request, transaction.db)
    }

    public func pipelineReport(
        _ request: Crm_Marketing_V1_PipelineReportRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_PipelineReportResponse {
        try pipeline.report(request, transaction.db)
    }

    public func createTask(
        _ request: Crm_Marketing_V1_CreateTaskRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_CreateTaskResponse {
        try tasks.create(request, transaction.db)
    }

    public func closeTask(_ request: Crm_Marketing_V1_CloseTaskRequest, _ transaction: StoreTransaction) throws -> Crm_Marketing_V1_CloseTaskResponse {
        try tasks.close(request, transaction.db)
    }

    public func listTasks(_ request: Crm_Marketing_V1_ListTasksRequest, _ transaction: StoreTransaction) throws -> Crm_Marketing_V1_ListTasksResponse {
        try tasks.list(request, transaction.db)
    }

    public func generateRelationshipEvents(
        _ request: Crm_Marketing_V1_GenerateRelationshipEventsRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_GenerateRelationshipEventsResponse {
        try tasks.generate(transaction.db)
    }

    public func setEventRules(
        _ request: Crm_Marketing_V1_SetEventRulesRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_SetEventRulesResponse {
        try tasks.setRules(request, actor: transaction.caller.actor, transaction.db)
    }

    public func saveSegment(
        _ request: Crm_Marketing_V1_SaveSegmentRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_SaveSegmentResponse {
        try segments.save(request, transaction.db)
    }

    public func countSegment(
        _ request: Crm_Marketing_V1_CountSegmentRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_CountSegmentResponse {
        try segments.count(request, transaction.db)
    }

    public func listSegmentMembers(
        _ request: Crm_Marketing_V1_ListSegmentMembersRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_ListSegmentMembersResponse {
        try segments.members(request, transaction.db)
    }

    public func createCampaign(
        _ request: Crm_Marketing_V1_CreateCampaignRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_CreateCampaignResponse {
        try campaigns.create(request, transaction.db)
    }

    public func buildTargetList(
        _ request: Crm_Marketing_V1_BuildTargetListRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_BuildTargetListResponse {
        try campaigns.buildTargetList(request, transaction.db)
    }

    public func setCampaignStatus(
        _ request: Crm_Marketing_V1_SetCampaignStatusRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_SetCampaignStatusResponse {
        try campaigns.setStatus(request, transaction.db)
    }

    public func recordCampaignResponse(
        _ request: Crm_Marketing_V1_RecordCampaignResponseRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_RecordCampaignResponseResponse {
        try campaigns.recordResponse(request, transaction.db)
    }

    public func campaignReport(
        _ request: Crm_Marketing_V1_CampaignReportRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_CampaignReportResponse {
        try campaigns.report(request, transaction.db)
    }

    public func setTargets(
        _ request: Crm_Marketing_V1_SetTargetsRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_SetTargetsResponse {
        try performance.setTargets(request, transaction.db)
    }

    public func performanceReport(
        _ request: Crm_Marketing_V1_PerformanceReportRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_PerformanceReportResponse {
        try performance.report(request, transaction.db)
    }

    public func setOfferRules(
        _ request: Crm_Marketing_V1_SetOfferRulesRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_SetOfferRulesResponse {
        try offers.setRules(request, actor: transaction.caller.actor, transaction.db)
    }

    public func nextBestOffers(
        _ request: Crm_Marketing_V1_NextBestOffersRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_NextBestOffersResponse {
        try offers.offers(request, transaction.db)
    }

    public func exportTargetList(
        _ request: Crm_Marketing_V1_ExportTargetListRequest, _ call: ServerCallContext, send: @escaping StreamSend<Crm_Marketing_V1_TargetListEntry>
    ) async throws {
        // Batch by batch, each on a reader: a long export never holds one read transaction open.
        var after = ""
        while true {
            let from = after
            let batch = try await store.read { db in try campaigns.exportBatch(campaignID: request.campaignID, afterCustomerID: from, db) }
            for entry in batch { try await send(entry) }
            guard batch.count == Campaigns.exportBatch, let last = batch.last else { return }
            after = last.customerID
        }
    }

    public func contributionReport(
        _ request: Crm_Marketing_V1_ContributionReportRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_ContributionReportResponse {
        try performance.contribution(request, transaction.db)
    }

    public func setCustomerTags(
        _ request: Crm_Marketing_V1_SetCustomerTagsRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_SetCustomerTagsResponse {
        try segments.setTags(request, transaction.db)
    }

    public func getEventRules(
        _ request: Crm_Marketing_V1_GetEventRulesRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_GetEventRulesResponse {
        try tasks.getRules(request, transaction.db)
    }

    public func getOfferRules(
        _ request: Crm_Marketing_V1_GetOfferRulesRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Marketing_V1_GetOfferRulesResponse {
        try offers.getRules(request, transaction.db)
    }
}
