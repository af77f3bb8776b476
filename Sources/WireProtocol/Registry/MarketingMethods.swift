/// MarketingService's methods (service id 3). Messages are in Protos/crm/marketing/v1/marketing.proto.
public enum MarketingMethods {
    /// Not idempotent: each call creates an opportunity (send an idempotency key to retry safely).
    public static let createOpportunity = MethodDescriptor<Crm_Marketing_V1_CreateOpportunityRequest, Crm_Marketing_V1_CreateOpportunityResponse>(
        service: ServiceID.marketing, method: 1, name: "Marketing.CreateOpportunity", isIdempotent: false)

    public static let getOpportunity = MethodDescriptor<Crm_Marketing_V1_GetOpportunityRequest, Crm_Marketing_V1_GetOpportunityResponse>(
        service: ServiceID.marketing, method: 2, name: "Marketing.GetOpportunity", isIdempotent: true)

    /// Idempotent because it names the version it read: a repeat fails with ABORTED and changes nothing.
    public static let moveOpportunity = MethodDescriptor<Crm_Marketing_V1_MoveOpportunityRequest, Crm_Marketing_V1_MoveOpportunityResponse>(
        service: ServiceID.marketing, method: 3, name: "Marketing.MoveOpportunity", isIdempotent: true)

    public static let listOpportunities = MethodDescriptor<Crm_Marketing_V1_ListOpportunitiesRequest, Crm_Marketing_V1_ListOpportunitiesResponse>(
        service: ServiceID.marketing, method: 4, name: "Marketing.ListOpportunities", isIdempotent: true)

    public static let setStageProbabilities = MethodDescriptor<
        Crm_Marketing_V1_SetStageProbabilitiesRequest, Crm_Marketing_V1_SetStageProbabilitiesResponse
    >(service: ServiceID.marketing, method: 5, name: "Marketing.SetStageProbabilities", isIdempotent: true)

    public static let pipelineReport = MethodDescriptor<Crm_Marketing_V1_PipelineReportRequest, Crm_Marketing_V1_PipelineReportResponse>(
        service: ServiceID.marketing, method: 6, name: "Marketing.PipelineReport", isIdempotent: true)

    /// Not idempotent: each call creates a task (send an idempotency key to retry safely).
    public static let createTask = MethodDescriptor<Crm_Marketing_V1_CreateTaskRequest, Crm_Marketing_V1_CreateTaskResponse>(
        service: ServiceID.marketing, method: 7, name: "Marketing.CreateTask", isIdempotent: false)

    /// Idempotent because it names the version it read.
    public static let closeTask = MethodDescriptor<Crm_Marketing_V1_CloseTaskRequest, Crm_Marketing_V1_CloseTaskResponse>(
        service: ServiceID.marketing, method: 8, name: "Marketing.CloseTask", isIdempotent: true)

    public static let listTasks = MethodDescriptor<Crm_Marketing_V1_ListTasksRequest, Crm_Marketing_V1_ListTasksResponse>(
        service: ServiceID.marketing, method: 9, name: "Marketing.ListTasks", isIdempotent: true)

    /// Idempotent: each occurrence's task is made once however often it runs.
    public static let generateRelationshipEvents = MethodDescriptor<
        Crm_Marketing_V1_GenerateRelationshipEventsRequest, Crm_Marketing_V1_GenerateRelationshipEventsResponse
    >(service: ServiceID.marketing, method: 10, name: "Marketing.GenerateRelationshipEvents", isIdempotent: true)

    public static let setEventRules = MethodDescriptor<Crm_Marketing_V1_SetEventRulesRequest, Crm_Marketing_V1_SetEventRulesResponse>(
        service: ServiceID.marketing, method: 11, name: "Marketing.SetEventRules", isIdempotent: true)

    /// Not idempotent when creating (an empty id makes a new segment each time); edits name the version.
    public static let saveSegment = MethodDescriptor<Crm_Marketing_V1_SaveSegmentRequest, Crm_Marketing_V1_SaveSegmentResponse>(
        service: ServiceID.marketing, method: 12, name: "Marketing.SaveSegment", isIdempotent: false)

    public static let countSegment = MethodDescriptor<Crm_Marketing_V1_CountSegmentRequest, Crm_Marketing_V1_CountSegmentResponse>(
        service: ServiceID.marketing, method: 13, name: "Marketing.CountSegment", isIdempotent: true)

    public static let listSegmentMembers = MethodDescriptor<Crm_Marketing_V1_ListSegmentMembersRequest, Crm_Marketing_V1_ListSegmentMembersResponse>(
        service: ServiceID.marketing, method: 14, name: "Marketing.ListSegmentMembers", isIdempotent: true)

    /// Not idempotent: each call creates a campaign (send an idempotency key to retry safely).
    public static let createCampaign = MethodDescriptor<Crm_Marketing_V1_CreateCampaignRequest, Crm_Marketing_V1_CreateCampaignResponse>(
        service: ServiceID.marketing, method: 15, name: "Marketing.CreateCampaign", isIdempotent: false)

    /// Idempotent because it names the version it read.
    public static let buildTargetList = MethodDescriptor<Crm_Marketing_V1_BuildTargetListRequest, Crm_Marketing_V1_BuildTargetListResponse>(
        service: ServiceID.marketing, method: 16, name: "Marketing.BuildTargetList", isIdempotent: true)

    /// Idempotent because it names the version it read.
    public static let setCampaignStatus = MethodDescriptor<Crm_Marketing_V1_SetCampaignStatusRequest, Crm_Marketing_V1_SetCampaignStatusResponse>(
        service: ServiceID.marketing, method: 17, name: "Marketing.SetCampaignStatus", isIdempotent: true)

    /// Not idempotent: each call is a contact (send an idempotency key to retry safely).
    public static let recordCampaignResponse = MethodDescriptor<
        Crm_Marketing_V1_RecordCampaignResponseRequest, Crm_Marketing_V1_RecordCampaignResponseResponse
    >(service: ServiceID.marketing, method: 18, name: "Marketing.RecordCampaignResponse", isIdempotent: false)

    public static let campaignReport = MethodDescriptor<Crm_Marketing_V1_CampaignReportRequest, Crm_Marketing_V1_CampaignReportResponse>(
        service: ServiceID.marketing, method: 19, name: "Marketing.CampaignReport", isIdempotent: true)

    public static let setTargets = MethodDescriptor<Crm_Marketing_V1_SetTargetsRequest, Crm_Marketing_V1_SetTargetsResponse>(
        service: ServiceID.marketing, method: 20, name: "Marketing.SetTargets", isIdempotent: true)

    public static let performanceReport = MethodDescriptor<Crm_Marketing_V1_PerformanceReportRequest, Crm_Marketing_V1_PerformanceReportResponse>(
        service: ServiceID.marketing, method: 21, name: "Marketing.PerformanceReport", isIdempotent: true)

    public static let setOfferRules = MethodDescriptor<Crm_Marketing_V1_SetOfferRulesRequest, Crm_Marketing_V1_SetOfferRulesResponse>(
        service: ServiceID.marketing, method: 22, name: "Marketing.SetOfferRules", isIdempotent: true)

    public static let nextBestOffers = MethodDescriptor<Crm_Marketing_V1_NextBestOffersRequest, Crm_Marketing_V1_NextBestOffersResponse>(
        service: ServiceID.marketing, method: 23, name: "Marketing.NextBestOffers", isIdempotent: true)

    /// A server stream of the campaign's targets.
    public static let exportTargetList = MethodDescriptor<Crm_Marketing_V1_ExportTargetListRequest, Crm_Marketing_V1_TargetListEntry>(
        service: ServiceID.marketing, method: 24, name: "Marketing.ExportTargetList", kind: .serverStream, isIdempotent: true)

    public static let contributionReport = MethodDescriptor<Crm_Marketing_V1_ContributionReportRequest, Crm_Marketing_V1_ContributionReportResponse>(
        service: ServiceID.marketing, method: 25, name: "Marketing.ContributionReport", isIdempotent: true)

    public static let setCustomerTags = MethodDescriptor<Crm_Marketing_V1_SetCustomerTagsRequest, Crm_Marketing_V1_SetCustomerTagsResponse>(
        service: ServiceID.marketing, method: 26, name: "Marketing.SetCustomerTags", isIdempotent: true)

    public static let getEventRules = MethodDescriptor<Crm_Marketing_V1_GetEventRulesRequest, Crm_Marketing_V1_GetEventRulesResponse>(
        service: ServiceID.marketing, method: 27, name: "Marketing.GetEventRules", isIdempotent: true)

    public static let getOfferRules = MethodDescriptor<Crm_Marketing_V1_GetOfferRulesRequest, Crm_Marketing_V1_GetOfferRulesResponse>(
        service: ServiceID.marketing, method: 28, name: "Marketing.GetOfferRules", isIdempotent: true)

    public static let all: [MethodInfo] = [
        createOpportunity.info, getOpportunity.info, moveOpportunity.info, listOpportunities.info, setStageProbabilities.info, pipelineReport.info,
        createTask.info, closeTask.info, listTasks.info, generateRelationshipEvents.info, setEventRules.info, saveSegment.info, countSegment.info,
        listSegmentMembers.info, createCampaign.info, buildTargetList.info, setCampaignStatus.info, recordCampaignResponse.info, campaignReport.info,
        setTargets.info, performanceReport.info, setOfferRules.info, nextBestOffers.info,
        exportTargetList.info, contributionReport.info, setCustomerTags.info, getEventRules.info, getOfferRules.info,
    ]
}
