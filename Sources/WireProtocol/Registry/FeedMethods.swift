/// Change feed methods (service id 5), answered by every server that publishes a change log.
public enum FeedMethods {
    public static let subscribe = MethodDescriptor<Crm_Feed_V1_SubscribeRequest, Crm_Feed_V1_ChangeEvent>(
        service: ServiceID.feed, method: 1, name: "Feed.Subscribe", kind: .serverStream, isIdempotent: true)

    public static let acknowledge = MethodDescriptor<Crm_Feed_V1_AcknowledgeRequest, Crm_Feed_V1_AcknowledgeResponse>(
        service: ServiceID.feed, method: 2, name: "Feed.Acknowledge", isIdempotent: true)

    public static let status = MethodDescriptor<Crm_Feed_V1_StatusRequest, Crm_Feed_V1_StatusResponse>(
        service: ServiceID.feed, method: 3, name: "Feed.Status", isIdempotent: true)

    public static let listDeadLetters = MethodDescriptor<Crm_Feed_V1_ListDeadLettersRequest, Crm_Feed_V1_ListDeadLettersResponse>(
        service: ServiceID.feed, method: 4, name: "Feed.ListDeadLetters", isIdempotent: true)

    public static let retryDeadLetters = MethodDescriptor<Crm_Feed_V1_RetryDeadLettersRequest, Crm_Feed_V1_RetryDeadLettersResponse>(
        service: ServiceID.feed, method: 5, name: "Feed.RetryDeadLetters", isIdempotent: false)

    public static let removeConsumer = MethodDescriptor<Crm_Feed_V1_RemoveConsumerRequest, Crm_Feed_V1_RemoveConsumerResponse>(
        service: ServiceID.feed, method: 6, name: "Feed.RemoveConsumer", isIdempotent: true)

    public static let all: [MethodInfo] = [
        subscribe.info, acknowledge.info, status.info, listDeadLetters.info, retryDeadLetters.info, removeConsumer.info,
    ]
}
