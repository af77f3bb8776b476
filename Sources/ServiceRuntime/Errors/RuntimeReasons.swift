public import WireProtocol

/// The error reasons ServiceRuntime sends (docs/PROTOCOL.md section 9.5 says when each is sent).
extension ErrorReason {
    /// FAILED_PRECONDITION: Feed.Subscribe with an epoch that is not the producer's (its change log was
    /// recreated or restored): start again from the beginning.
    public static let epochChanged = ErrorReason("EPOCH_CHANGED")
    /// FAILED_PRECONDITION: the events after the consumer's offset were pruned (`feeds.retention_hours`):
    /// rebuild from a new epoch.
    public static let eventsPruned = ErrorReason("EVENTS_PRUNED")
    /// FAILED_PRECONDITION: the idempotency key was used before with a different request.
    public static let idempotencyKeyReused = ErrorReason("IDEMPOTENCY_KEY_REUSED")
    /// INVALID_ARGUMENT: a field is invalid; `field_violations` names each (9.1).
    public static let invalidField = ErrorReason("INVALID_FIELD")
    public static let invalidTransition = ErrorReason("INVALID_TRANSITION")
    /// NOT_FOUND: a dead-letter call names a producer the service does not consume.
    public static let producerNotFound = ErrorReason("PRODUCER_NOT_FOUND")
    public static let staleVersion = ErrorReason("STALE_VERSION")
    /// NOT_FOUND: a Marketing report names an organisation unit its copy does not hold.
    public static let unitNotFound = ErrorReason("UNIT_NOT_FOUND")
    /// NOT_FOUND: a shared setting's Get named a version that was never set.
    public static let unknownVersion = ErrorReason("UNKNOWN_VERSION")
}
