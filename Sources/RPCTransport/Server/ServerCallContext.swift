public import Logging
public import NIOCore
public import WireProtocol

/// What a handler knows about the call it serves.
public struct ServerCallContext: Sendable {
    public let method: MethodInfo
    public let streamID: UInt32
    /// The request's metadata. Caller identity fields are present only if the connection is
    /// trusted to set them (see ``RPCServer/Configuration/trustsCallerIdentity``).
    public let metadata: Metadata
    /// When the caller stops waiting; the runtime cancels the handler at this moment.
    public let deadline: NIODeadline?
    /// The peer's TLS certificate identity (subject common name), if the connection uses mutual TLS.
    public let peerIdentity: String?

    /// A logger with the request's method, stream, trace id and caller attached.
    ///
    /// Made when asked for, not per call: most calls never log, and attaching the four keys was a
    /// tenth of the event loop's time on short calls (docs/BENCHMARKS.md).
    public var logger: Logger {
        get {
            if let ownLogger { return ownLogger }
            var logger = serverLogger
            logger[metadataKey: "method"] = .string(method.name)
            logger[metadataKey: "stream"] = .stringConvertible(streamID)
            if let traceparent = metadata.traceparent { logger[metadataKey: "trace"] = .string(traceparent) }
            if let loggedCaller { logger[metadataKey: "caller"] = .string(loggedCaller) }
            return logger
        }
        set { ownLogger = newValue }
    }

    /// The server's logger, without the call's keys.
    private let serverLogger: Logger
    /// The caller the logger names: the one the server authenticated, or the one the metadata claims.
    private let loggedCaller: String?
    /// The logger a handler set, if it set one.
    private var ownLogger: Logger?

    init(
        method: MethodInfo, streamID: UInt32, metadata: Metadata, deadline: NIODeadline?, peerIdentity: String?,
        serverLogger: Logger, loggedCaller: String?
    ) {
        self.method = method
        self.streamID = streamID
        self.metadata = metadata
        self.deadline = deadline
        self.peerIdentity = peerIdentity
        self.serverLogger = serverLogger
        self.loggedCaller = loggedCaller
    }
}
