/// The client side of one connection as a value type: idle, awaiting hello-ack, open, draining,
/// closed (docs/PROTOCOL.md, "Connection states"). Allocates stream ids, enforces the server's
/// concurrency limit and sorts incoming frames to their calls. Does no I/O.
public struct ClientConnectionStateMachine: Sendable {
    public enum State: Sendable, Hashable {
        case idle
        case awaitingHelloAck
        case open
        /// The server sent GOAWAY, or the client is closing: no new calls on this connection.
        case draining
        case closed
    }

    public enum Action: Sendable, Hashable {
        case none
        /// Write the preface and HELLO.
        case sendPrefaceAndHello(Hello)
        /// The handshake completed: calls may start.
        case handshakeCompleted(NegotiatedParameters)
        /// Hand this frame to the call on its stream. If `callFinished`, it was the call's last
        /// frame; if `thenClose`, it was the last call of a drain and the connection closes.
        case deliver(Frame, callFinished: Bool, thenClose: Bool)
        case sendPong(UInt64)
        case pongReceived(UInt64)
        /// The server will not process these calls: fail them as UNAVAILABLE, not processed, so
        /// they can be retried on a new connection. Close if `thenClose`.
        case goAwayReceived(GoAway, refusedStreams: [UInt32], thenClose: Bool)
        /// Write GOAWAY (client closing) and, if `thenClose`, close.
        case sendGoAway(GoAway, thenClose: Bool)
        /// The connection failed: fail every open call with this error and close (after writing
        /// an ERROR frame on stream 0 if `notifyPeer`).
        case failConnection(RPCError, notifyPeer: Bool)
    }

    public private(set) var state: State = .idle
    private let localHello: Hello
    private var parameters: NegotiatedParameters?
    private var nextStreamID: UInt32
    private var openStreams = StreamTable<Void>()

    /// - Parameters:
    ///   - localHello: the versions and limits this client announces.
    ///   - firstStreamID: the first stream id to use (tests start near the end of the range).
    public init(localHello: Hello = Hello(), firstStreamID: UInt32 = 1) {
        self.localHello = localHello
        self.nextStreamID = max(firstStreamID, 1)
    }

    public var openCallCount: Int { openStreams.count }
    public var negotiatedParameters: NegotiatedParameters? { parameters }

    /// The transport connected: write the preface and HELLO.
    public mutating func start() -> Action {
        guard state == .idle else { return .none }
        state = .awaitingHelloAck
        return .sendPrefaceAndHello(localHello)
    }

    /// Reserves a stream id for a new call, or says why this connection cannot take one.
    public mutating func openCall() -> Result<UInt32, RPCError> {
        switch state {
        case .idle, .awaitingHelloAck:
            return .failure(notProcessed(.unavailable, "the handshake has not completed", reason: .notReady))
        case .draining:
            return .failure(notProcessed(.unavailable, "the connection is draining; use a new one", reason: .draining))
        case .closed:
            return .failure(notProcessed(.unavailable, "the connection is closed", reason: .closed))
        case .open:
            break
        }
        let limit = parameters?.maxConcurrentStreams ?? 1
        guard openStreams.count < Int(limit) else {
            return .failure(
                notProcessed(.resourceExhausted, "the server allows \(limit) calls at once", reason: .tooManyStreams))
        }
        guard nextStreamID < .max else {
            state = .draining
            return .failure(notProcessed(.unavailable, "stream ids exhausted; use a new connection", reason: .streamIdsExhausted))
        }
        let id = nextStreamID
        nextStreamID += 1
        openStreams.insert(id)
        return .success(id)
    }

    /// The caller gave up on a call. Returns whether to write CANCEL (false if it had finished).
    public mutating func cancelCall(streamID: UInt32) -> Bool {
        guard state == .open || state == .draining else { return false }
        return openStreams.remove(streamID)
    }

    public mutating func receivedFrame(_ frame: Frame) -> Action {
        switch state {
        case .idle, .closed:
            return .none
        case .awaitingHelloAck:
            return receivedFrameAwaitingHelloAck(frame)
        case .open, .draining:
            return receivedFrameWhileOpen(frame)
        }
    }

    private mutating func receivedFrameAwaitingHelloAck(_ frame: Frame) -> Action {
        switch frame.type {
        case .helloAck:
            let ack: Hello
            do throws(FrameDecodingError) {
                ack = try Hello(payload: frame.payload, type: .helloAck)
            } catch {
                return fail(error.rpcError, notifyPeer: true)
            }
            switch Hello.accept(ack: ack, sent: localHello) {
            case .failure(let error):
                return fail(error, notifyPeer: true)
            case .success(let parameters):
                self.parameters = parameters
                state = .open
                return .handshakeCompleted(parameters)
            }
        case .error where frame.streamID == 0:
            return fail(Self.connectionError(from: frame), notifyPeer: false)
        default:
            return fail(unexpected(frame, expected: "HELLO_ACK"), notifyPeer: true)
        }
    }

    private mutating func receivedFrameWhileOpen(_ frame: Frame) -> Action {
        if let parameters, UInt16(frame.version) != parameters.version {
            return fail(
                RPCError(
                    code: .invalidArgument,
                    message: "frame version \(frame.version) differs from the negotiated version \(parameters.version)",
                    reason: .versionMismatch, processing: .maybeProcessed),
                notifyPeer: true)
        }
        switch frame.type {
        case .response, .streamEnd, .streamItem, .error:
            if frame.type == .error, frame.streamID == 0 {
                return fail(Self.connectionError(from: frame), notifyPeer: false)
            }
            guard frame.streamID < nextStreamID else {
                return fail(unexpected(frame, expected: "frames for open calls only"), notifyPeer: true)
            }
            guard openStreams.contains(frame.streamID) else { return .none }  // cancelled: drop
            guard frame.type != .streamItem else {
                return .deliver(frame, callFinished: false, thenClose: false)
            }
            openStreams.remove(frame.streamID)
            let drained = state == .draining && openStreams.isEmpty
            if drained { state = .closed }
            return .deliver(frame, callFinished: true, thenClose: drained)
        case .ping:
            guard let value = try? PingPayload(payload: frame.payload).value else { return .none }
            return .sendPong(value)
        case .pong:
            guard let value = try? PingPayload(payload: frame.payload).value else { return .none }
            return .pongReceived(value)
        case .goAway:
            let goAway: GoAway
            do throws(FrameDecodingError) {
                goAway = try GoAway(payload: frame.payload)
            } catch {
                return fail(error.rpcError, notifyPeer: true)
            }
            let refused = openStreams.keys.filter { $0 > goAway.lastStreamID }.sorted()
            for streamID in refused { openStreams.remove(streamID) }
            state = openStreams.isEmpty ? .closed : .draining
            return .goAwayReceived(goAway, refusedStreams: refused, thenClose: state == .closed)
        case .hello, .helloAck, .request, .credit, .cancel:
            return fail(unexpected(frame, expected: "RESPONSE, ERROR, STREAM_ITEM, STREAM_END, PING, PONG or GOAWAY"), notifyPeer: true)
        }
    }

    /// The client is closing: start no new calls, let running ones finish, then close.
    public mutating func beginGracefulShutdown() -> Action {
        switch state {
        case .idle, .awaitingHelloAck:
            state = .closed
            return .failConnection(notProcessed(.unavailable, "client closed before the handshake", reason: .closed), notifyPeer: false)
        case .open, .draining:
            state = openStreams.isEmpty ? .closed : .draining
            return .sendGoAway(GoAway(lastStreamID: 0, code: .ok, message: "client closing"), thenClose: state == .closed)
        case .closed:
            return .none
        }
    }

    /// The decoder refused the server's bytes.
    public mutating func decodingFailed(_ error: FrameDecodingError) -> Action {
        guard state != .closed else { return .none }
        return fail(error.rpcError, notifyPeer: true)
    }

    /// The transport saw the connection close. Returns the calls that never got their answer.
    public mutating func connectionClosed() -> Set<UInt32> {
        state = .closed
        defer { openStreams.removeAll() }
        return Set(openStreams.keys)
    }

    private mutating func fail(_ error: RPCError, notifyPeer: Bool) -> Action {
        state = .closed
        return .failConnection(error, notifyPeer: notifyPeer)
    }

    private static func connectionError(from frame: Frame) -> RPCError {
        (try? RPCError(payload: frame.payload))
            ?? RPCError(code: .internal, message: "the server closed the connection with an unreadable error",
                        reason: .malformedPayload)
    }

    private func notProcessed(_ code: ErrorCode, _ message: String, reason: ErrorReason) -> RPCError {
        RPCError(code: code, message: message, reason: reason, processing: .notProcessed)
    }

    private func unexpected(_ frame: Frame, expected: String) -> RPCError {
        RPCError(
            code: .internal,
            message: "unexpected \(frame.type) on stream \(frame.streamID) in state \(state); expected \(expected)",
            reason: .unexpectedFrame)
    }
}
