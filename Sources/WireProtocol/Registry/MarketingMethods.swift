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

    public static let all: [MethodInfo] = [
        createOpportunity.info, getOpportunity.info, moveOpportunity.info, listOpportunities.info, setStageProbabilities.info, pipelineReport.info,
    ]
}
