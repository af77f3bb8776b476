public import WireProtocol

/// The error reasons MarketingService sends (docs/PROTOCOL.md section 9.5 says when each is sent).
extension ErrorReason {
    /// FAILED_PRECONDITION: a response recorded for a campaign that is not active.
    public static let campaignNotActive = ErrorReason("CAMPAIGN_NOT_ACTIVE")
    /// FAILED_PRECONDITION: the campaign's target list is fixed once it left draft.
    public static let campaignNotDraft = ErrorReason("CAMPAIGN_NOT_DRAFT")
    /// FAILED_PRECONDITION: only a scheduled or active campaign's list is exported.
    public static let campaignNotExportable = ErrorReason("CAMPAIGN_NOT_EXPORTABLE")
    /// NOT_FOUND: no campaign with that id.
    public static let campaignNotFound = ErrorReason("CAMPAIGN_NOT_FOUND")
    /// FAILED_PRECONDITION: a contact recorded for a control-group member (only a conversion is).
    public static let controlMember = ErrorReason("CONTROL_MEMBER")
    /// NOT_FOUND: the customer is not on the campaign's list.
    public static let notOnList = ErrorReason("NOT_ON_LIST")
    /// FAILED_PRECONDITION: the campaign has no target list yet (BuildTargetList).
    public static let noTargetList = ErrorReason("NO_TARGET_LIST")
    /// NOT_FOUND: no opportunity with that id.
    public static let opportunityNotFound = ErrorReason("OPPORTUNITY_NOT_FOUND")
    /// NOT_FOUND: no segment with that id.
    public static let segmentNotFound = ErrorReason("SEGMENT_NOT_FOUND")
    /// FAILED_PRECONDITION: the task is already closed.
    public static let taskClosed = ErrorReason("TASK_CLOSED")
    /// NOT_FOUND: no RM task with that id.
    public static let taskNotFound = ErrorReason("TASK_NOT_FOUND")
}
