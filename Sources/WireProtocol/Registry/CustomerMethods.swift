/// CustomerService's methods (service id 2). Messages are in Protos/crm/customer/v1/customer.proto.
public enum CustomerMethods {
    public static let create = MethodDescriptor<Crm_Customer_V1_CreateCustomerRequest, Crm_Customer_V1_CreateCustomerResponse>(
        service: ServiceID.customer, method: 1, name: "Customer.Create", isIdempotent: false)

    public static let get = MethodDescriptor<Crm_Customer_V1_GetCustomerRequest, Crm_Customer_V1_GetCustomerResponse>(
        service: ServiceID.customer, method: 2, name: "Customer.Get", isIdempotent: true)

    /// Idempotent because it names the version it replaces: a repeat fails with ABORTED and changes nothing.
    public static let update = MethodDescriptor<Crm_Customer_V1_UpdateCustomerRequest, Crm_Customer_V1_UpdateCustomerResponse>(
        service: ServiceID.customer, method: 3, name: "Customer.Update", isIdempotent: true)

    public static let search = MethodDescriptor<Crm_Customer_V1_SearchCustomersRequest, Crm_Customer_V1_SearchCustomersResponse>(
        service: ServiceID.customer, method: 4, name: "Customer.Search", isIdempotent: true)

    public static let deactivate = MethodDescriptor<Crm_Customer_V1_SetCustomerActiveRequest, Crm_Customer_V1_SetCustomerActiveResponse>(
        service: ServiceID.customer, method: 5, name: "Customer.Deactivate", isIdempotent: true)

    public static let reactivate = MethodDescriptor<Crm_Customer_V1_SetCustomerActiveRequest, Crm_Customer_V1_SetCustomerActiveResponse>(
        service: ServiceID.customer, method: 6, name: "Customer.Reactivate", isIdempotent: true)

    public static let verifyAudit = MethodDescriptor<Crm_Customer_V1_VerifyAuditRequest, Crm_Customer_V1_VerifyAuditResponse>(
        service: ServiceID.customer, method: 7, name: "Customer.VerifyAudit", isIdempotent: true)

    public static let listAudit = MethodDescriptor<Crm_Customer_V1_ListAuditRequest, Crm_Customer_V1_ListAuditResponse>(
        service: ServiceID.customer, method: 8, name: "Customer.ListAudit", isIdempotent: true)

    /// Idempotent because it names both versions: a repeat fails with ABORTED and changes nothing.
    public static let merge = MethodDescriptor<Crm_Customer_V1_MergeCustomersRequest, Crm_Customer_V1_MergeCustomersResponse>(
        service: ServiceID.customer, method: 9, name: "Customer.Merge", isIdempotent: true)

    /// Idempotent: a repeat fails with FAILED_PRECONDITION (ALREADY_UNMERGED) and changes nothing.
    public static let unmerge = MethodDescriptor<Crm_Customer_V1_UnmergeCustomersRequest, Crm_Customer_V1_UnmergeCustomersResponse>(
        service: ServiceID.customer, method: 10, name: "Customer.Unmerge", isIdempotent: true)

    public static let placeLegalHold = MethodDescriptor<Crm_Customer_V1_PlaceLegalHoldRequest, Crm_Customer_V1_PlaceLegalHoldResponse>(
        service: ServiceID.customer, method: 11, name: "Customer.PlaceLegalHold", isIdempotent: false)

    public static let releaseLegalHold = MethodDescriptor<Crm_Customer_V1_ReleaseLegalHoldRequest, Crm_Customer_V1_ReleaseLegalHoldResponse>(
        service: ServiceID.customer, method: 12, name: "Customer.ReleaseLegalHold", isIdempotent: true)

    /// Idempotent because it names the version: a repeat fails with ABORTED or CUSTOMER_ERASED.
    public static let erase = MethodDescriptor<Crm_Customer_V1_EraseCustomerRequest, Crm_Customer_V1_EraseCustomerResponse>(
        service: ServiceID.customer, method: 13, name: "Customer.Erase", isIdempotent: true)

    /// Idempotent: the same batch again leaves everything unchanged.
    public static let upsertAccounts = MethodDescriptor<Crm_Customer_V1_UpsertAccountsRequest, Crm_Customer_V1_UpsertAccountsResponse>(
        service: ServiceID.customer, method: 14, name: "Customer.UpsertAccounts", isIdempotent: true)

    public static let recordInteraction = MethodDescriptor<Crm_Customer_V1_RecordInteractionRequest, Crm_Customer_V1_RecordInteractionResponse>(
        service: ServiceID.customer, method: 15, name: "Customer.RecordInteraction", isIdempotent: false)

    public static let listInteractions = MethodDescriptor<Crm_Customer_V1_ListInteractionsRequest, Crm_Customer_V1_ListInteractionsResponse>(
        service: ServiceID.customer, method: 16, name: "Customer.ListInteractions", isIdempotent: true)

    public static let setCreditGrade = MethodDescriptor<Crm_Customer_V1_SetCreditGradeRequest, Crm_Customer_V1_SetCreditGradeResponse>(
        service: ServiceID.customer, method: 17, name: "Customer.SetCreditGrade", isIdempotent: true)

    public static let recomputeGrades = MethodDescriptor<Crm_Customer_V1_RecomputeGradesRequest, Crm_Customer_V1_RecomputeGradesResponse>(
        service: ServiceID.customer, method: 18, name: "Customer.RecomputeGrades", isIdempotent: true)

    public static let getView = MethodDescriptor<Crm_Customer_V1_GetCustomerViewRequest, Crm_Customer_V1_GetCustomerViewResponse>(
        service: ServiceID.customer, method: 19, name: "Customer.GetView", isIdempotent: true)

    public static let setValueGradeRules = MethodDescriptor<Crm_Customer_V1_SetValueGradeRulesRequest, Crm_Customer_V1_SetValueGradeRulesResponse>(
        service: ServiceID.customer, method: 20, name: "Customer.SetValueGradeRules", isIdempotent: true)

    public static let createHousehold = MethodDescriptor<Crm_Customer_V1_CreateHouseholdRequest, Crm_Customer_V1_HouseholdResponse>(
        service: ServiceID.customer, method: 21, name: "Customer.CreateHousehold", isIdempotent: false)

    public static let setHouseholdMember = MethodDescriptor<Crm_Customer_V1_SetHouseholdMemberRequest, Crm_Customer_V1_HouseholdResponse>(
        service: ServiceID.customer, method: 22, name: "Customer.SetHouseholdMember", isIdempotent: true)

    public static let removeHouseholdMember = MethodDescriptor<Crm_Customer_V1_RemoveHouseholdMemberRequest, Crm_Customer_V1_HouseholdResponse>(
        service: ServiceID.customer, method: 23, name: "Customer.RemoveHouseholdMember", isIdempotent: true)

    public static let getHousehold = MethodDescriptor<Crm_Customer_V1_GetHouseholdRequest, Crm_Customer_V1_HouseholdResponse>(
        service: ServiceID.customer, method: 24, name: "Customer.GetHousehold", isIdempotent: true)

    public static let linkSubsidiary = MethodDescriptor<Crm_Customer_V1_LinkSubsidiaryRequest, Crm_Customer_V1_LinkSubsidiaryResponse>(
        service: ServiceID.customer, method: 25, name: "Customer.LinkSubsidiary", isIdempotent: true)

    public static let unlinkSubsidiary = MethodDescriptor<Crm_Customer_V1_UnlinkSubsidiaryRequest, Crm_Customer_V1_UnlinkSubsidiaryResponse>(
        service: ServiceID.customer, method: 26, name: "Customer.UnlinkSubsidiary", isIdempotent: true)

    public static let setGroupCreditLimit = MethodDescriptor<Crm_Customer_V1_SetGroupCreditLimitRequest, Crm_Customer_V1_SetGroupCreditLimitResponse>(
        service: ServiceID.customer, method: 27, name: "Customer.SetGroupCreditLimit", isIdempotent: true)

    public static let getCorporateGroup = MethodDescriptor<Crm_Customer_V1_GetCorporateGroupRequest, Crm_Customer_V1_GetCorporateGroupResponse>(
        service: ServiceID.customer, method: 28, name: "Customer.GetCorporateGroup", isIdempotent: true)

    public static let recordConsent = MethodDescriptor<Crm_Customer_V1_RecordConsentRequest, Crm_Customer_V1_ConsentsResponse>(
        service: ServiceID.customer, method: 29, name: "Customer.RecordConsent", isIdempotent: false)

    public static let getConsents = MethodDescriptor<Crm_Customer_V1_GetConsentsRequest, Crm_Customer_V1_ConsentsResponse>(
        service: ServiceID.customer, method: 30, name: "Customer.GetConsents", isIdempotent: true)

    public static let findDuplicates = MethodDescriptor<Crm_Customer_V1_FindDuplicatesRequest, Crm_Customer_V1_FindDuplicatesResponse>(
        service: ServiceID.customer, method: 31, name: "Customer.FindDuplicates", isIdempotent: true)

    public static let listDuplicatePairs = MethodDescriptor<Crm_Customer_V1_ListDuplicatePairsRequest, Crm_Customer_V1_ListDuplicatePairsResponse>(
        service: ServiceID.customer, method: 32, name: "Customer.ListDuplicatePairs", isIdempotent: true)

    public static let dismissDuplicatePair = MethodDescriptor<Crm_Customer_V1_DismissDuplicatePairRequest, Crm_Customer_V1_DismissDuplicatePairResponse>(
        service: ServiceID.customer, method: 33, name: "Customer.DismissDuplicatePair", isIdempotent: true)

    public static let importCustomers = MethodDescriptor<Crm_Customer_V1_ImportCustomersRequest, Crm_Customer_V1_ImportCustomersResponse>(
        service: ServiceID.customer, method: 34, name: "Customer.ImportCustomers", isIdempotent: true)

    public static let upsertAgreements = MethodDescriptor<Crm_Customer_V1_UpsertAgreementsRequest, Crm_Customer_V1_UpsertAgreementsResponse>(
        service: ServiceID.customer, method: 35, name: "Customer.UpsertAgreements", isIdempotent: true)

    public static let upsertOrgUnits = MethodDescriptor<Crm_Customer_V1_UpsertOrgUnitsRequest, Crm_Customer_V1_UpsertOrgUnitsResponse>(
        service: ServiceID.customer, method: 36, name: "Customer.UpsertOrgUnits", isIdempotent: true)

    public static let upsertRelationshipManagers = MethodDescriptor<
        Crm_Customer_V1_UpsertRelationshipManagersRequest, Crm_Customer_V1_UpsertRelationshipManagersResponse
    >(service: ServiceID.customer, method: 37, name: "Customer.UpsertRelationshipManagers", isIdempotent: true)

    public static let assignRelationshipManager = MethodDescriptor<
        Crm_Customer_V1_AssignRelationshipManagerRequest, Crm_Customer_V1_AssignRelationshipManagerResponse
    >(service: ServiceID.customer, method: 38, name: "Customer.AssignRelationshipManager", isIdempotent: true)

    public static let listAssignments = MethodDescriptor<Crm_Customer_V1_ListAssignmentsRequest, Crm_Customer_V1_ListAssignmentsResponse>(
        service: ServiceID.customer, method: 39, name: "Customer.ListAssignments", isIdempotent: true)

    public static let getOrgUnit = MethodDescriptor<Crm_Customer_V1_GetOrgUnitRequest, Crm_Customer_V1_GetOrgUnitResponse>(
        service: ServiceID.customer, method: 40, name: "Customer.GetOrgUnit", isIdempotent: true)

    public static let getValueGradeRules = MethodDescriptor<Crm_Customer_V1_GetValueGradeRulesRequest, Crm_Customer_V1_GetValueGradeRulesResponse>(
        service: ServiceID.customer, method: 41, name: "Customer.GetValueGradeRules", isIdempotent: true)

    /// Idempotent because it names the version it replaces: a repeat fails with ABORTED and changes nothing.
    public static let setLifecycleRules = MethodDescriptor<Crm_Customer_V1_SetLifecycleRulesRequest, Crm_Customer_V1_SetLifecycleRulesResponse>(
        service: ServiceID.customer, method: 42, name: "Customer.SetLifecycleRules", isIdempotent: true)

    public static let getLifecycleRules = MethodDescriptor<Crm_Customer_V1_GetLifecycleRulesRequest, Crm_Customer_V1_GetLifecycleRulesResponse>(
        service: ServiceID.customer, method: 43, name: "Customer.GetLifecycleRules", isIdempotent: true)

    public static let all: [MethodInfo] = [
        create.info, get.info, update.info, search.info, deactivate.info, reactivate.info, verifyAudit.info, listAudit.info,
        merge.info, unmerge.info, placeLegalHold.info, releaseLegalHold.info, erase.info, upsertAccounts.info,
        recordInteraction.info, listInteractions.info, setCreditGrade.info, recomputeGrades.info, getView.info,
        setValueGradeRules.info, createHousehold.info, setHouseholdMember.info, removeHouseholdMember.info, getHousehold.info,
        linkSubsidiary.info, unlinkSubsidiary.info, setGroupCreditLimit.info, getCorporateGroup.info,
        recordConsent.info, getConsents.info, findDuplicates.info, listDuplicatePairs.info, dismissDuplicatePair.info,
        importCustomers.info, upsertAgreements.info, upsertOrgUnits.info, upsertRelationshipManagers.info,
        assignRelationshipManager.info, listAssignments.info, getOrgUnit.info, getValueGradeRules.info, setLifecycleRules.info, getLifecycleRules.info,
    ]
}
