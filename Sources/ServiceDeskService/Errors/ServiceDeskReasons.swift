public import WireProtocol

/// The error reasons ServiceDeskService sends (docs/PROTOCOL.md section 9.5 says when each is sent).
extension ErrorReason {
    /// FAILED_PRECONDITION: a knowledge article that is not published, or archived, cannot take the change.
    public static let articleArchived = ErrorReason("ARTICLE_ARCHIVED")
    /// NOT_FOUND: no knowledge base article with that id.
    public static let articleNotFound = ErrorReason("ARTICLE_NOT_FOUND")
    /// FAILED_PRECONDITION: a knowledge article that is not published, or archived, cannot take the change.
    public static let articleNotPublished = ErrorReason("ARTICLE_NOT_PUBLISHED")
    /// NOT_FOUND: no case with that id.
    public static let caseNotFound = ErrorReason("CASE_NOT_FOUND")
    /// FAILED_PRECONDITION: satisfaction recorded before the case was resolved.
    public static let caseNotResolved = ErrorReason("CASE_NOT_RESOLVED")
    /// FAILED_PRECONDITION: a case closed as a duplicate of itself, or of a case that is itself a duplicate.
    public static let duplicateOfDuplicate = ErrorReason("DUPLICATE_OF_DUPLICATE")
    /// FAILED_PRECONDITION: a case closed as a duplicate of itself, or of a case that is itself a duplicate.
    public static let duplicateOfSelf = ErrorReason("DUPLICATE_OF_SELF")
    /// FAILED_PRECONDITION: a child case opened under a case that is itself a child.
    public static let parentIsChild = ErrorReason("PARENT_IS_CHILD")
    /// FAILED_PRECONDITION: an assignment by queue to a queue with no agents.
    public static let queueHasNoAgents = ErrorReason("QUEUE_HAS_NO_AGENTS")
    /// ALREADY_EXISTS: the case already has its satisfaction score.
    public static let satisfactionRecorded = ErrorReason("SATISFACTION_RECORDED")
    /// FAILED_PRECONDITION: the satisfaction token was used, or expired.
    public static let tokenExpired = ErrorReason("TOKEN_EXPIRED")
    /// NOT_FOUND: no such satisfaction token.
    public static let tokenNotFound = ErrorReason("TOKEN_NOT_FOUND")
    /// FAILED_PRECONDITION: the satisfaction token was used, or expired.
    public static let tokenUsed = ErrorReason("TOKEN_USED")
}
