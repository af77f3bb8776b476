internal import NIOConcurrencyHelpers
public import NIOCore
public import NIOPosix
internal import SwiftProtobuf
public import WireProtocol

/// A client that keeps a multiplexed connection to a server and replaces it when it fails or
/// the server sends GOAWAY. New calls go to a working connection; connecting retries with
/// exponential backoff and jitter. Calls the server refused as not processed (draining, connection
/// lost before sending) are retried on a new connection; nothing that may have been processed is
/// retried here.
///
/// A call made on one of the group's event loops (a gateway handler) uses a connection of that
/// event loop, opened on first use: its request and answer then never cross to another thread (a
/// cross-loop hop each way cost the gateway's forwarded calls tens of microseconds each). Calls
/// from elsewhere take any working connection.
public final class RPCClient: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var options: RPCConnection.Options
        public var initialBackoff: TimeAmount
        public var maximumBackoff: TimeAmount
        /// Connection attempts (and not-processed retries) per call before giving up.
        public var maximumAttempts: Int

        public init(
            host: String, port: Int, options: RPCConnection.Options = .init(),
            initialBackoff: TimeAmount = .milliseconds(50), maximumBackoff: TimeAmount = .seconds(5), maximumAttempts: Int = 5
        ) {
            self.host = host
            self.port = port
            self.options = options
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
            self.maximumAttempts = maximumAttempts
        }
    }

    public let configuration: Configuration
    private let group: any EventLoopGroup
    /// The group's event loops, to tell whether a call runs on one of them.
    private let groupLoops: Set<ObjectIdentifier>
    /// The connections by the event loop they run on.
    private let connections = NIOLockedValueBox<[ObjectIdentifier: RPCConnection]>([:])

    public init(configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
        groupLoops = Set(group.makeIterator().map { ObjectIdentifier($0) })
    }

    /// A usable connection, connecting (with backoff) if there is none: the current event loop's
    /// when called on one of the group's event loops, otherwise any.
    public func connection() async throws -> RPCConnection {
        let loop = currentLoopOfGroup()
        if let connection = usableConnection(on: loop) { return connection }
        var lastError: (any Error)?
        for attempt in 0..<configuration.maximumAttempts {
            if attempt > 0 { try await Task.sleep(nanoseconds: UInt64(backoff(attempt: attempt).nanoseconds)) }
            // Another call may have connected meanwhile.
            if let connection = usableConnection(on: loop) { return connection }
            do {
                let eventLoop = loop ?? group.next()
                let connection = try await RPCConnection.connect(
                    host: configuration.host, port: configuration.port, options: configuration.options, group: eventLoop)
                let replaced = connections.withLockedValue { slots -> RPCConnection? in
                    defer { slots[ObjectIdentifier(eventLoop)] = connection }
                    return slots[ObjectIdentifier(eventLoop)]
                }
                if let replaced { Task { await replaced.close() } }
                return connection
            } catch {
                lastError = error
            }
        }
        throw (lastError as? RPCError)
            ?? RPCError(code: .unavailable, message: "cannot connect to \(configuration.host):\(configuration.port)",
                        reason: .connectFailed, processing: .notProcessed)
    }

    /// The event loop of `group` this code runs on, if any.
    private func currentLoopOfGroup() -> (any EventLoop)? {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop, groupLoops.contains(ObjectIdentifier(loop)) else { return nil }
        return loop
    }

    /// `loop`'s connection if it is usable; with no loop, any usable one.
    private func usableConnection(on loop: (any EventLoop)?) -> RPCConnection? {
        connections.withLockedValue { slots in
            if let loop { return slots[ObjectIdentifier(loop)].flatMap { $0.isUsable ? $0 : nil } }
            return slots.values.first(where: \.isUsable)
        }
    }

    /// The wait before attempt `attempt` (for tests).
    public func backoffForTesting(attempt: Int) -> TimeAmount { backoff(attempt: attempt) }

    /// Jittered: a random wait between zero and the exponential backoff for this attempt.
    func backoff(attempt: Int) -> TimeAmount {
        let exponential = configuration.initialBackoff.nanoseconds << min(attempt - 1, 20)
        let capped = min(exponential, configuration.maximumBackoff.nanoseconds)
        return .nanoseconds(Int64.random(in: (capped / 2)...max(capped, 1)))
    }

    /// Calls a unary method on a working connection (see the type's notes on retries).
    public func unary<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ request: Request,
        metadata: Metadata = Metadata(), timeout: TimeAmount? = nil
    ) async throws -> Response {
        let payload = try await call(method: method.id, payload: try request.encodedPayload(), metadata: metadata, timeout: timeout)
        return try Response(payload: payload)
    }

    /// The raw form of ``unary(_:_:metadata:timeout:)``.
    public func call(method: MethodID, payload: ByteBuffer, metadata: Metadata = Metadata(), timeout: TimeAmount? = nil) async throws -> ByteBuffer {
        var attempt = 0
        while true {
            attempt += 1
            let connection = try await connection()
            var metadata = metadata
            metadata.attempt = UInt16(clamping: attempt)
            do {
                return try await connection.call(method: method, payload: payload, metadata: metadata, timeout: timeout)
            } catch let error as RPCError where error.processing == .notProcessed && error.code == .unavailable
                && attempt < configuration.maximumAttempts
            {
                try await Task.sleep(nanoseconds: UInt64(backoff(attempt: attempt).nanoseconds))
            }
        }
    }

    /// Calls a server-stream method on a working connection.
    public func serverStream<Request, Item>(
        _ method: MethodDescriptor<Request, Item>, _ request: Request,
        metadata: Metadata = Metadata(), timeout: TimeAmount? = nil, window: UInt32 = 64
    ) async throws -> ClientStream<Item> {
        try await connection().serverStream(method, request, metadata: metadata, timeout: timeout, window: window)
    }

    /// Closes the connections gracefully.
    public func close() async {
        let open = connections.withLockedValue { slots in
            defer { slots = [:] }
            return Array(slots.values)
        }
        for connection in open { await connection.close() }
    }
}
