public import WireProtocol

/// The error reasons more than one service sends about customers (docs/PROTOCOL.md section 9.5
/// says when each is sent): CustomerService about its own records, Marketing and ServiceDesk about
/// their copies of the customer feed.
extension ErrorReason {
    /// FAILED_PRECONDITION: the customer is active and cannot take the change (a reactivation).
    public static let customerActive = ErrorReason("CUSTOMER_ACTIVE")
    /// FAILED_PRECONDITION: the customer was erased (`details.status`).
    public static let customerErased = ErrorReason("CUSTOMER_ERASED")
    /// FAILED_PRECONDITION: the customer is inactive and cannot take the change (`details.status`).
    public static let customerInactive = ErrorReason("CUSTOMER_INACTIVE")
    /// FAILED_PRECONDITION: the customer was merged into another (`details.status`; a mirror's answer
    /// adds `details.merged_into_id`).
    public static let customerMerged = ErrorReason("CUSTOMER_MERGED")
    /// NOT_FOUND: no such customer (in a mirror: not yet in its copy of the customer feed, which
    /// brings a new customer within about a second).
    public static let customerNotFound = ErrorReason("CUSTOMER_NOT_FOUND")
}
