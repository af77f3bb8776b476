/// ServiceDeskService's methods (service id 4). Messages are in Protos/crm/servicedesk/v1/servicedesk.proto.
public enum ServiceDeskMethods {
    public static let openCase = MethodDescriptor<Crm_Servicedesk_V1_OpenCaseRequest, Crm_Servicedesk_V1_OpenCaseResponse>(
        service: ServiceID.serviceDesk, method: 1, name: "ServiceDesk.OpenCase", isIdempotent: false)

    public static let getCase = MethodDescriptor<Crm_Servicedesk_V1_GetCaseRequest, Crm_Servicedesk_V1_GetCaseResponse>(
        service: ServiceID.serviceDesk, method: 2, name: "ServiceDesk.GetCase", isIdempotent: true)

    /// Idempotent because it names the version it read: a repeat fails with ABORTED and changes nothing.
    public static let transitionCase = MethodDescriptor<Crm_Servicedesk_V1_TransitionCaseRequest, Crm_Servicedesk_V1_TransitionCaseResponse>(
        service: ServiceID.serviceDesk, method: 3, name: "ServiceDesk.TransitionCase", isIdempotent: true)

    public static let listCases = MethodDescriptor<Crm_Servicedesk_V1_ListCasesRequest, Crm_Servicedesk_V1_ListCasesResponse>(
        service: ServiceID.serviceDesk, method: 4, name: "ServiceDesk.ListCases", isIdempotent: true)

    public static let setSlaPolicies = MethodDescriptor<Crm_Servicedesk_V1_SetSlaPoliciesRequest, Crm_Servicedesk_V1_SetSlaPoliciesResponse>(
        service: ServiceID.serviceDesk, method: 5, name: "ServiceDesk.SetSlaPolicies", isIdempotent: true)

    public static let setBusinessCalendar = MethodDescriptor<Crm_Servicedesk_V1_SetBusinessCalendarRequest, Crm_Servicedesk_V1_SetBusinessCalendarResponse>(
        service: ServiceID.serviceDesk, method: 6, name: "ServiceDesk.SetBusinessCalendar", isIdempotent: true)

    /// Idempotent: every action fires once however many sweeps run.
    public static let sweepSla = MethodDescriptor<Crm_Servicedesk_V1_SweepSlaRequest, Crm_Servicedesk_V1_SweepSlaResponse>(
        service: ServiceID.serviceDesk, method: 7, name: "ServiceDesk.SweepSla", isIdempotent: true)

    // 4/8 is retired (SetCustomerGrade: a customer's grade now comes from the customer feed).

    public static let all: [MethodInfo] = [
        openCase.info, getCase.info, transitionCase.info, listCases.info, setSlaPolicies.info, setBusinessCalendar.info, sweepSla.info,
    ]
}
