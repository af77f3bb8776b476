public import WireProtocol

/// The error reasons CustomerService sends (docs/PROTOCOL.md section 9.5 says when each is sent).
extension ErrorReason {
    /// FAILED_PRECONDITION: the merge was already undone.
    public static let alreadyUnmerged = ErrorReason("ALREADY_UNMERGED")
    /// INVALID_ARGUMENT: a consumed event the service cannot apply (it names no customer): never sent to a
    /// caller, kept in the consumer's dead letters.
    public static let badEvent = ErrorReason("BAD_EVENT")
    /// FAILED_PRECONDITION: a customer of the merge changed after it: the unmerge would lose that change.
    public static let changedSinceMerge = ErrorReason("CHANGED_SINCE_MERGE")
    /// ALREADY_EXISTS: an identity document or credit code is held by a live customer
    /// (`details.existing_customer_id`).
    public static let duplicateDocument = ErrorReason("DUPLICATE_DOCUMENT")
    /// FAILED_PRECONDITION: the group link would make a cycle.
    public static let groupCycle = ErrorReason("GROUP_CYCLE")
    /// NOT_FOUND: a legal hold release names no hold.
    public static let holdNotFound = ErrorReason("HOLD_NOT_FOUND")
    /// FAILED_PRECONDITION: a second head for a household.
    public static let householdHasHead = ErrorReason("HOUSEHOLD_HAS_HEAD")
    /// NOT_FOUND: no such household.
    public static let householdNotFound = ErrorReason("HOUSEHOLD_NOT_FOUND")
    /// FAILED_PRECONDITION: the customer already belongs to another household.
    public static let inAnotherHousehold = ErrorReason("IN_ANOTHER_HOUSEHOLD")
    /// FAILED_PRECONDITION: Customer.Merge of a customer linked into a corporate group.
    public static let inCorporateGroup = ErrorReason("IN_CORPORATE_GROUP")
    /// FAILED_PRECONDITION: Customer.Merge of an individual and a corporate.
    public static let kindMismatch = ErrorReason("KIND_MISMATCH")
    /// NOT_FOUND: Customer.Unmerge names no merge.
    public static let mergeNotFound = ErrorReason("MERGE_NOT_FOUND")
    /// FAILED_PRECONDITION: a group link names an individual.
    public static let notACorporate = ErrorReason("NOT_A_CORPORATE")
    /// FAILED_PRECONDITION: Customer.Erase of a corporate customer.
    public static let notAPerson = ErrorReason("NOT_A_PERSON")
    /// FAILED_PRECONDITION: a group limit set on a subsidiary rather than the group's root.
    public static let notGroupRoot = ErrorReason("NOT_GROUP_ROOT")
    /// NOT_FOUND: a duplicate-job decision names no pair.
    public static let pairNotFound = ErrorReason("PAIR_NOT_FOUND")
    /// PERMISSION_DENIED: the caller's role may not call this method (ListAudit: only a role that sees
    /// every field in clear).
    public static let roleNotAllowed = ErrorReason("ROLE_NOT_ALLOWED")
}
