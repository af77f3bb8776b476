public import NIOCore

/// The server side of one connection as a value type: awaiting hello, open, draining, closed
/// (docs/PROTOCOL.md, "Connection states"). A transport feeds it events and carries out the
/// ``Action`` each returns; it does no I/O and reads no clock, so every transition is testable.
public struct ServerConnectionStateMachine: Sendable {
    public enum State: Sendable, Hashable {
        case awaitingHello
        case open
        case draining
        case closed
    }

    /// What the transport must do after an event.
    public enum Action: Sendable, Hashable {
        case none
        /// Handshake done: write HELLO_ACK; frames now use `parameters`.
        case sendHelloAck(Hello, NegotiatedParameters)
        /// Start the handler for this REQUEST.
        case startCall(Frame)
        /// Answer this REQUEST with an ERROR frame on its stream without running it.
        case refuseCall(streamID: UInt32, method: MethodID, RPCError)
        /// The client cancelled: cancel the handler's task and write nothing more on the stream; if
        /// `thenClose`, that was the last call of a drain and the connection closes.
        case cancelCall(streamID: UInt32, thenClose: Bool)
        /// The client granted more items to a server stream.
        case addCredit(streamID: UInt32, items: UInt32)
        case sendPong(UInt64)
        case pongReceived(UInt64)
        /// Write GOAWAY; keep serving the calls at or below its last stream id.
        case sendGoAway(GoAway)
        /// Write GOAWAY, then close.
        case sendGoAwayAndClose(GoAway)
        /// Write an ERROR frame on stream 0, then close; cancel any running calls.
        case sendErrorAndClose(RPCError)
        /// Close now (the peer ended the connection); cancel any running calls.
        case close
    }

    /// What to do with a call's final frame (RESPONSE, ERROR or STREAM_END).
    public enum FinishAction: Sendable, Hashable {
        /// Write it; if `thenClose`, close the connection after the write (the drain is complete).
        case write(thenClose: Bool)
        /// The call was cancelled or the connection is closing: write nothing.
        case drop
    }

    public private(set) var state: State
    private let localHello: Hello
    private var parameters: NegotiatedParameters?
    private var highestStreamID: UInt32 = 0
    private var openStreams = StreamTable<Void>()
    /// Set when draining: calls above this id are refused.
    private var lastAcceptedStreamID: UInt32 = .max
    private var lastPing: NIODeadline?
    private var pingStrikes = 0

    /// Pings closer together than the announced minimum are tolerated this many times in a row.
    public static let maxPingStrikes = 2

    /// - Parameter localHello: the server's limits; its version fields are the supported range.
    public init(localHello: Hello) {
        self.localHello = localHello
        self.state = .awaitingHello
    }

    /// Calls currently running.
    public var openCallCount: Int { openStreams.count }
    public var negotiatedParameters: NegotiatedParameters? { parameters }

    public mutating func receivedFrame(_ frame: Frame, now: NIODeadline) -> Action {
        switch state {
        case .closed:
            return .none
        case .awaitingHello:
            return receivedFrameAwaitingHello(frame)
        case .open, .draining:
            return receivedFrameWhileOpen(frame, now: now)
        }
    }

    private mutating func receivedFrameAwaitingHello(_ frame: Frame) -> Action {
        guard frame.type == .hello else {
            return closeWithError(unexpected(frame, expected: "HELLO"))
        }
        let clientHello: Hello
        do throws(FrameDecodingError) {
            clientHello = try Hello(payload: frame.payload)
        } catch {
            return closeWithError(error.rpcError)
        }
        switch Hello.negotiate(client: clientHello, server: localHello) {
        case .failure(let error):
            return closeWithError(error)
        case .success(let (ack, parameters)):
            self.parameters = parameters
            state = .open
            return .sendHelloAck(ack, parameters)
        }
    }

    private mutating func receivedFrameWhileOpen(_ frame: Frame, now: NIODeadline) -> Action {
        if let parameters, UInt16(frame.version) != parameters.version {
            return closeWithError(
                RPCError(
                    code: .invalidArgument,
                    message: "frame version \(frame.version) differs from the negotiated version \(parameters.version)",
                    reason: .versionMismatch, processing: .notProcessed))
        }
        switch frame.type {
        case .request:
            return receivedRequest(frame)
        case .cancel:
            guard openStreams.remove(frame.streamID) else { return .none }
            let drained = state == .draining && openStreams.isEmpty
            if drained { state = .closed }
            return .cancelCall(streamID: frame.streamID, thenClose: drained)
        case .credit:
            guard openStreams.contains(frame.streamID) else { return .none }
            do throws(FrameDecodingError) {
                return .addCredit(streamID: frame.streamID, items: try CreditGrant(payload: frame.payload).items)
            } catch {
                return closeWithError(error.rpcError)
            }
        case .ping:
            return receivedPing(frame, now: now)
        case .pong:
            guard let value = try? PingPayload(payload: frame.payload).value else { return .none }
            return .pongReceived(value)
        case .goAway:
            // The client will start no more calls here; finish those running, then close.
            lastAcceptedStreamID = min(lastAcceptedStreamID, highestStreamID)
            state = .draining
            if openStreams.isEmpty {
                state = .closed
                return .close
            }
            return .none
        case .error:
            guard frame.streamID == 0 else {
                return closeWithError(unexpected(frame, expected: "REQUEST, CANCEL, CREDIT, PING, PONG or GOAWAY"))
            }
            state = .closed
            openStreams.removeAll()
            return .close
        case .hello, .helloAck, .response, .streamItem, .streamEnd:
            return closeWithError(unexpected(frame, expected: "REQUEST, CANCEL, CREDIT, PING, PONG or GOAWAY"))
        }
    }

    private mutating func receivedRequest(_ frame: Frame) -> Action {
        guard frame.streamID > highestStreamID else {
            return closeWithError(
                RPCError(
                    code: .invalidArgument,
                    message: "stream id \(frame.streamID) is not above the last one used (\(highestStreamID))",
                    reason: .streamIdReused, processing: .notProcessed))
        }
        highestStreamID = frame.streamID
        if state == .draining, frame.streamID > lastAcceptedStreamID {
            return .refuseCall(
                streamID: frame.streamID, method: frame.method,
                RPCError(
                    code: .unavailable, message: "the server is draining this connection; call again on a new one",
                    reason: .draining, processing: .notProcessed))
        }
        let limit = parameters?.maxConcurrentStreams ?? localHello.maxConcurrentStreams
        guard openStreams.count < Int(limit) else {
            return .refuseCall(
                streamID: frame.streamID, method: frame.method,
                RPCError(
                    code: .resourceExhausted, message: "more than \(limit) calls open on this connection",
                    reason: .tooManyStreams, processing: .notProcessed))
        }
        openStreams.insert(frame.streamID)
        return .startCall(frame)
    }

    private mutating func receivedPing(_ frame: Frame, now: NIODeadline) -> Action {
        guard let value = try? PingPayload(payload: frame.payload).value else { return .none }
        let minimum = TimeAmount.milliseconds(Int64(localHello.minPingIntervalMilliseconds))
        if let lastPing, now - lastPing < minimum {
            pingStrikes += 1
            if pingStrikes > Self.maxPingStrikes {
                return closeWithError(
                    RPCError(
                        code: .resourceExhausted,
                        message: "pings more often than every \(localHello.minPingIntervalMilliseconds) ms",
                        reason: .pingAbuse, processing: .notProcessed))
            }
        } else {
            pingStrikes = 0
        }
        lastPing = now
        return .sendPong(value)
    }

    /// The handler of `streamID` produced its final frame.
    public mutating func finishCall(streamID: UInt32) -> FinishAction {
        guard state != .closed, openStreams.remove(streamID) else { return .drop }
        if state == .draining, openStreams.isEmpty {
            state = .closed
            return .write(thenClose: true)
        }
        return .write(thenClose: false)
    }

    /// Whether frames for `streamID` may still be written (a server stream's items).
    public func isCallOpen(streamID: UInt32) -> Bool {
        state != .closed && openStreams.contains(streamID)
    }

    /// Starts a graceful drain: tell the client which calls will still be answered.
    public mutating func beginGracefulShutdown() -> Action {
        switch state {
        case .awaitingHello:
            state = .closed
            return .close
        case .open, .draining:
            lastAcceptedStreamID = min(lastAcceptedStreamID, highestStreamID)
            let goAway = GoAway(lastStreamID: lastAcceptedStreamID, code: .ok, message: "server shutting down")
            if openStreams.isEmpty {
                state = .closed
                return .sendGoAwayAndClose(goAway)
            }
            state = .draining
            return .sendGoAway(goAway)
        case .closed:
            return .none
        }
    }

    /// The client did not complete the handshake in time.
    public mutating func handshakeTimedOut() -> Action {
        guard state == .awaitingHello else { return .none }
        return closeWithError(
            RPCError(code: .deadlineExceeded, message: "no HELLO within the handshake timeout", reason: .handshakeTimeout,
                     processing: .notProcessed))
    }

    /// No call ran for the idle timeout: close politely if nothing is running.
    public mutating func idleTimedOut() -> Action {
        guard state == .open, openStreams.isEmpty else { return .none }
        state = .closed
        return .sendGoAwayAndClose(GoAway(lastStreamID: highestStreamID, code: .ok, message: "idle timeout"))
    }

    /// The decoder refused the peer's bytes.
    public mutating func decodingFailed(_ error: FrameDecodingError) -> Action {
        guard state != .closed else { return .none }
        return closeWithError(error.rpcError)
    }

    /// The transport saw the connection close. Returns the calls to cancel.
    public mutating func connectionClosed() -> Set<UInt32> {
        state = .closed
        defer { openStreams.removeAll() }
        return Set(openStreams.keys)
    }

    /// The peer may no longer be served (its certificate was revoked while it was connected):
    /// the error on stream 0, then close.
    public mutating func peerRefused(_ error: RPCError) -> Action {
        guard state != .closed else { return .none }
        return closeWithError(error)
    }

    private mutating func closeWithError(_ error: RPCError) -> Action {
        state = .closed
        return .sendErrorAndClose(error)
    }

    private func unexpected(_ frame: Frame, expected: String) -> RPCError {
        RPCError(
            code: .invalidArgument,
            message: "unexpected \(frame.type) on stream \(frame.streamID) in state \(state); expected \(expected)",
            reason: .unexpectedFrame, processing: .notProcessed)
    }
}
