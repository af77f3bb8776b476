internal import Logging
internal import NIOCore
public import NIOSSL
internal import NIOTLS
internal import WireProtocol

/// One server connection on its event loop: cuts its bytes into frames (``FrameReader``), feeds
/// them to the ``ServerConnectionStateMachine``, starts one task per call, writes answers back, and
/// enforces deadlines, credit, backpressure and the handshake and idle timeouts.
///
/// Frames are decoded and encoded here, on the event loop; only whole requests go to async code.
/// Writes made while handling a read burst are flushed once in `channelReadComplete`; answers that
/// complete in tasks are flushed once per event-loop tick.
/// Sent down the pipeline by ``RPCServer/closeConnections(error:where:)``: the peer may no longer be served.
struct PeerRefusedEvent: Sendable {
    var error: RPCError
}

final class RPCServerConnectionHandler: ChannelDuplexHandler, FlushCoalescing {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent down the pipeline by ``RPCServer`` to start a graceful drain.
    struct DrainEvent: Sendable {}

    private struct ActiveCall {
        let method: MethodID
        let methodName: String
        let startedAt: NIODeadline
        /// Carries the call's method, stream, trace id and caller into its completion line.
        let context: ServerCallContext
        /// The request payload's size, counted in ``inFlightRequestBytes`` until the call ends.
        let requestBytes: Int
        var task: Task<Void, Never>?
        let deadline: NIODeadline
        // Server streams only.
        var credit: UInt32 = 0
        var pendingItem: (payload: ByteBuffer, continuation: CheckedContinuation<Void, any Error>)?
    }

    private let router: RPCRouter
    private let configuration: RPCServer.Configuration
    private let logger: Logger
    private let metrics: (any RPCServerObserver)?
    private var machine: ServerConnectionStateMachine
    private var reader: FrameReader
    private var encoder = FrameEncoder()
    private var calls = StreamTable<ActiveCall>()
    private(set) var context: ChannelHandlerContext?
    /// Where unary handlers run when the configuration asks for the event loop; nil: the task pool.
    private var taskExecutor: EventLoopTaskExecutor?
    var flushes = FlushState()
    private var readHeldBack = false
    /// Request bytes held by calls still running. Reading pauses above
    /// ``maxInFlightRequestBytes`` so that a peer sending faster than the handlers finish cannot
    /// make the server buffer without bound, whatever the scheduling.
    private var inFlightRequestBytes = 0
    static let maxInFlightRequestBytes = 8 << 20
    private var handshakeTimer: Scheduled<Void>?
    private var idleTimer: RepeatedTask?
    /// One timer for all the calls' deadlines, set for the earliest: a timer scheduled and cancelled
    /// per call cost a tenth of the event loop's time on short calls (docs/BENCHMARKS.md).
    private var deadlineTimer: (at: NIODeadline, scheduled: Scheduled<Void>)?
    private var lastActivity = NIODeadline.now()
    private var peerIdentity: String?
    /// Over TLS, whether the TLS handshake finished: before it has, nothing written can reach the
    /// peer, so a refusal closes at once instead of waiting to flush.
    private var tlsEstablished = false
    /// Set once a ``ConnectionAdmission`` let the peer in; released when the connection closes.
    private var admitted: AdmittedPeer?

    init(router: RPCRouter, configuration: RPCServer.Configuration, frameLimit: FrameSizeLimit, logger: Logger, metrics: (any RPCServerObserver)?) {
        self.router = router
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.machine = ServerConnectionStateMachine(localHello: configuration.hello)
        self.reader = FrameReader(FrameDecoder(maxFrameSize: frameLimit, expectPreface: true))
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if configuration.unaryHandlersOnEventLoop { taskExecutor = EventLoopTaskExecutor(context.eventLoop) }
    }

    func channelActive(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        handshakeTimer = context.eventLoop.scheduleTask(in: configuration.handshakeTimeout) {
            loopBound.value.perform(loopBound.value.machine.handshakeTimedOut())
        }
        let idle = configuration.idleTimeout
        idleTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: idle, delay: .nanoseconds(max(idle.nanoseconds / 4, 1_000_000))) { _ in
            let handler = loopBound.value
            guard handler.calls.isEmpty, NIODeadline.now() - handler.lastActivity >= idle else { return }
            handler.perform(handler.machine.idleTimedOut())
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimer?.cancel()
        idleTimer?.cancel()
        deadlineTimer?.scheduled.cancel()
        deadlineTimer = nil
        if let truncated = reader.endOfInput() { refuse(truncated) }
        _ = machine.connectionClosed()
        admitted?.release()
        admitted = nil
        for id in calls.keys { abandonCall(id) }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reader.append(unwrapInboundIn(data))
        readBurstStarted()
        lastActivity = .now()
        while true {
            let frame: Frame?
            do throws(FrameDecodingError) {
                frame = try reader.next()
            } catch {
                refuse(error)
                return
            }
            guard let frame else { return }
            perform(machine.receivedFrame(frame, now: lastActivity))
        }
    }

    /// The peer's bytes are not our protocol: answer with the error and close.
    private func refuse(_ decodingError: FrameDecodingError) {
        logger.debug("refusing peer bytes", metadata: ["error": "\(decodingError)"])
        perform(machine.decodingFailed(decodingError))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        readBurstEnded()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        if configuration.tls != nil, !tlsEstablished, error is NIOSSLError || error is BoringSSLError { metrics?.handshakeFailed() }
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            tlsEstablished = true
            context.fireUserInboundEventTriggered(event)
        } else if event as? ChannelEvent == .some(.inputClosed) {
            if let truncated = reader.endOfInput() { refuse(truncated) }
            context.fireUserInboundEventTriggered(event)
        } else if let refused = event as? PeerRefusedEvent {
            perform(machine.peerRefused(refused.error))
            flushNow()
        } else if event is DrainEvent {
            perform(machine.beginGracefulShutdown())
            flushNow()
            for call in calls.values where router.entry(for: call.method)?.endsAtDrain == true { call.task?.cancel() }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Backpressure: while the outbound buffer is over its high-water mark (a peer that does not
    /// read) or running calls hold too many request bytes, stop reading new requests.
    func read(context: ChannelHandlerContext) {
        if mayRead(context) {
            context.read()
        } else {
            readHeldBack = true
        }
    }

    private func mayRead(_ context: ChannelHandlerContext) -> Bool {
        context.channel.isWritable && inFlightRequestBytes <= Self.maxInFlightRequestBytes
    }

    /// Issues the read that ``read(context:)`` held back, once both conditions allow it.
    private func resumeReadingIfAllowed() {
        guard readHeldBack, let context, mayRead(context) else { return }
        readHeldBack = false
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            for id in calls.keys where calls[id]?.pendingItem != nil { sendPendingItem(id) }
            resumeReadingIfAllowed()
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Actions

    private func perform(_ action: ServerConnectionStateMachine.Action) {
        guard let context else { return }
        switch action {
        case .none:
            break
        case .sendHelloAck(let ack, let parameters):
            handshakeTimer?.cancel()
            encoder.peerMaxFrameSize = parameters.peerMaxFrameSize
            let certificate = try? context.channel.pipeline.syncOperations.nioSSL_peerCertificate()
            if let admission = configuration.admission {
                do throws(RPCError) {
                    let peer = try admission.admit(peerCertificate: certificate)
                    admitted = peer
                    peerIdentity = peer.name
                } catch {
                    logger.notice("refusing peer", metadata: ["code": "\(error.code)", "reason": "\(error.reason)", "peer": "\(certificate?.commonName ?? "-")"])
                    perform(.sendErrorAndClose(error))
                    return
                }
            } else {
                peerIdentity = certificate?.commonName
            }
            write(.helloAck(ack))
        case .startCall(let frame):
            startCall(frame)
        case .refuseCall(let streamID, let method, let error):
            write(.error(streamID: streamID, method: method, error))
        case .cancelCall(let streamID, let thenClose):
            abandonCall(streamID)
            if thenClose { closeAfterFlush() }
        case .addCredit(let streamID, let items):
            addCredit(items, to: streamID)
        case .sendPong(let value):
            write(.pong(value))
        case .pongReceived:
            break
        case .sendGoAway(let goAway):
            write(.goAway(goAway))
        case .sendGoAwayAndClose(let goAway):
            write(.goAway(goAway))
            closeAfterFlush()
        case .sendErrorAndClose(let error):
            logger.debug("closing connection", metadata: ["code": "\(error.code)", "reason": "\(error.reason)"])
            if configuration.tls != nil, !tlsEstablished {
                context.close(promise: nil)  // a handshake that never finished: nobody to tell
                return
            }
            write(.error(streamID: 0, error))
            closeAfterFlush()
        case .close:
            context.close(promise: nil)
        }
    }


    // MARK: Calls

    private func startCall(_ frame: Frame) {
        guard let context else { return }
        guard let entry = router.entry(for: frame.method) else {
            finish(
                frame.streamID, method: frame.method,
                with: .error(
                    streamID: frame.streamID, method: frame.method,
                    RPCError(code: .unimplemented, message: "no method \(frame.method) on this server", reason: .unknownMethod,
                             processing: .notProcessed)))
            return
        }
        var metadata = frame.metadata
        if !configuration.trustsCallerIdentity { metadata.removeCallerIdentity() }
        // The read's time, taken once for all its frames: a call's clock starts when its bytes arrived.
        let now = lastActivity
        var timeout = configuration.maxCallDuration
        if let requested = metadata.timeoutMilliseconds { timeout = min(timeout, .milliseconds(Int64(requested))) }
        if case .serverStream = entry.route { timeout = metadata.timeoutMilliseconds.map { .milliseconds(Int64($0)) } ?? .hours(24 * 365) }
        let deadline = now + timeout

        // A server that admits its callers itself (the gateway) logs the caller it authenticated,
        // never what the client wrote in the metadata.
        let caller = configuration.admission != nil ? peerIdentity : metadata.callerSystem ?? peerIdentity
        let callContext = ServerCallContext(
            method: entry.info, streamID: frame.streamID, metadata: metadata, deadline: deadline,
            peerIdentity: peerIdentity, serverLogger: logger, loggedCaller: caller)

        // A deadline of 0 has passed on arrival: one rule for every method, immediate ones included,
        // and nothing runs, so the caller may send the call again with time to spare.
        if metadata.timeoutMilliseconds == 0 {
            metrics?.callStarted()
            let answer = Frame.error(
                streamID: frame.streamID, method: frame.method,
                RPCError(code: .deadlineExceeded, message: "timeout_ms is 0: the deadline passed before the call started",
                         reason: .deadlineExceeded, processing: .notProcessed))
            report(methodName: entry.info.name, startedAt: now, context: callContext, answer: answer)
            writeFinalFrame(answer)
            return
        }

        let streamID = frame.streamID
        let payload = frame.payload
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        // A call that runs in a task is kept in `calls` until it finishes.
        func track(credit: UInt32 = 0) {
            var call = ActiveCall(
                method: frame.method, methodName: entry.info.name, startedAt: now, context: callContext,
                requestBytes: payload.readableBytes, deadline: deadline)
            call.credit = credit
            inFlightRequestBytes += call.requestBytes
            calls[streamID] = call
        }
        metrics?.callStarted()
        switch entry.route {
        case .immediate(let body):
            // Answered inside this read: no task, no deadline to watch, nothing kept in `calls`.
            let answer: Frame
            do {
                answer = .response(streamID: streamID, method: frame.method, payload: try body(payload, callContext))
            } catch {
                answer = .error(streamID: streamID, method: frame.method, rpcError(from: error))
            }
            report(methodName: entry.info.name, startedAt: now, context: callContext, answer: answer)
            writeFinalFrame(answer)
        case .unary(let body):
            armDeadlineTimer(for: deadline, context)
            track()
            calls[streamID]?.task = Task(executorPreference: taskExecutor) {
                let result: Result<ByteBuffer, any Error>
                do {
                    result = .success(try await body(payload, callContext))
                } catch {
                    result = .failure(error)
                }
                if eventLoop.inEventLoop {
                    loopBound.value.unaryCompleted(streamID, result)
                } else {
                    eventLoop.execute { loopBound.value.unaryCompleted(streamID, result) }
                }
            }
        case .serverStream(let body):
            armDeadlineTimer(for: deadline, context)
            track(credit: metadata.initialCredit ?? Metadata.defaultInitialCredit)
            let sink = ConnectionStreamSink(handler: loopBound, eventLoop: eventLoop, streamID: streamID)
            calls[streamID]?.task = Task {
                let result: Result<Void, any Error>
                do {
                    try await body(payload, callContext, sink)
                    result = .success(())
                } catch {
                    result = .failure(error)
                }
                eventLoop.execute { loopBound.value.streamCompleted(streamID, result) }
            }
        }
    }

    private func unaryCompleted(_ streamID: UInt32, _ result: Result<ByteBuffer, any Error>) {
        guard let call = calls[streamID] else { return }  // cancelled or timed out: already answered
        switch result {
        case .success(let payload):
            finish(streamID, method: call.method, with: .response(streamID: streamID, method: call.method, payload: payload))
        case .failure(let error):
            finish(streamID, method: call.method, with: .error(streamID: streamID, method: call.method, rpcError(from: error)))
        }
    }

    private func streamCompleted(_ streamID: UInt32, _ result: Result<Void, any Error>) {
        guard let call = calls[streamID] else { return }
        switch result {
        case .success:
            finish(streamID, method: call.method, with: .streamEnd(streamID: streamID, method: call.method))
        case .failure(let error):
            finish(streamID, method: call.method, with: .error(streamID: streamID, method: call.method, rpcError(from: error)))
        }
    }

    /// Makes sure the deadline timer fires no later than `deadline`.
    private func armDeadlineTimer(for deadline: NIODeadline, _ context: ChannelHandlerContext) {
        if let timer = deadlineTimer {
            guard deadline < timer.at else { return }
            timer.scheduled.cancel()
        }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        deadlineTimer = (deadline, context.eventLoop.scheduleTask(deadline: deadline) { loopBound.value.deadlineTimerFired() })
    }

    /// Fails the calls whose deadline passed and sets the timer for the earliest one left.
    private func deadlineTimerFired() {
        deadlineTimer = nil
        let now = NIODeadline.now()
        for (streamID, call) in calls where call.deadline <= now { deadlinePassed(streamID) }
        if let context, let next = calls.values.lazy.map(\.deadline).min() { armDeadlineTimer(for: next, context) }
    }

    private func deadlinePassed(_ streamID: UInt32) {
        guard let call = calls[streamID] else { return }
        call.task?.cancel()
        finish(
            streamID, method: call.method,
            with: .error(
                streamID: streamID, method: call.method,
                RPCError(code: .deadlineExceeded, message: "the call's deadline passed", reason: .deadlineExceeded)))
    }

    private func released(_ call: ActiveCall) {
        inFlightRequestBytes -= call.requestBytes
        resumeReadingIfAllowed()
    }

    /// Writes the final frame of a call (if the state machine still wants it) and forgets the call.
    private func finish(_ streamID: UInt32, method: MethodID, with frame: Frame) {
        let call = calls.removeValue(forKey: streamID)
        if let call {
            released(call)
            call.pendingItem?.continuation.resume(throwing: CancellationError())
            if calls.isEmpty { lastActivity = .now() }
            report(methodName: call.methodName, startedAt: call.startedAt, context: call.context, answer: frame)
        }
        writeFinalFrame(frame)
    }

    /// Writes a call's last frame if the state machine still wants it (not after a cancel or a close).
    private func writeFinalFrame(_ frame: Frame) {
        switch machine.finishCall(streamID: frame.streamID) {
        case .drop:
            break
        case .write(let thenClose):
            write(frame)
            if thenClose { closeAfterFlush() } else { scheduleFlush() }
        }
    }

    /// The call's completion line and metrics.
    private func report(methodName: String, startedAt: NIODeadline, context: ServerCallContext, answer: Frame) {
        guard metrics != nil || logger.logLevel <= .info else { return }
        let code = Self.code(of: answer)
        logCompletion(context, startedAt: startedAt, code: code)
        if let metrics { record(methodName, startedAt: startedAt, code: code, in: metrics) }
    }

    /// The call ends without an answer (client cancel, connection gone): cancel its task.
    private func abandonCall(_ streamID: UInt32) {
        guard let call = calls.removeValue(forKey: streamID) else { return }
        released(call)
        call.task?.cancel()
        call.pendingItem?.continuation.resume(throwing: CancellationError())
        if calls.isEmpty { lastActivity = .now() }
        if let metrics { record(call.methodName, startedAt: call.startedAt, code: "\(ErrorCode.cancelled)", in: metrics) }
    }

    private func record(_ methodName: String, startedAt: NIODeadline, code: String, in metrics: any RPCServerObserver) {
        let elapsed = NIODeadline.now() - startedAt
        metrics.callFinished(method: methodName, code: code, duration: .nanoseconds(elapsed.nanoseconds))
    }

    /// OK, or the error frame's code name.
    private static func code(of frame: Frame) -> String {
        guard frame.type == .error else { return "OK" }
        return (try? RPCError(payload: frame.payload)).map { "\($0.code)" } ?? "UNKNOWN"
    }

    private func rpcError(from error: any Error) -> RPCError {
        switch error {
        case let error as RPCError:
            // The cause stays here: the caller gets the code, reason and message only.
            if let cause = error.cause {
                logger.warning(
                    "call failed", metadata: ["code": "\(error.code)", "reason": "\(error.reason)", "cause": "\(String(reflecting: cause))"])
            }
            return error
        case is CancellationError:
            return RPCError(code: .cancelled, message: "the call was cancelled", reason: .cancelled)
        default:
            logger.error("handler failed", metadata: ["error": "\(String(reflecting: error))"])
            return RPCError(code: .internal, message: "internal error", reason: .`internal`)
        }
    }

    /// One line per call at info; an answered call of a quiet method (a health probe) at debug.
    private func logCompletion(_ context: ServerCallContext, startedAt: NIODeadline, code: String) {
        let level: Logger.Level = code == "OK" && router.quietMethods.contains(context.method.id) ? .debug : .info
        guard logger.logLevel <= level else { return }
        let micros = (NIODeadline.now() - startedAt).nanoseconds / 1000
        context.logger.log(level: level, "call", metadata: ["code": "\(code)", "duration_us": "\(micros)"])
    }

    // MARK: Server streams

    fileprivate func enqueueStreamItem(
        _ streamID: UInt32, _ payload: ByteBuffer, _ continuation: CheckedContinuation<Void, any Error>
    ) {
        guard calls[streamID] != nil else {
            continuation.resume(throwing: CancellationError())
            return
        }
        guard calls[streamID]?.pendingItem == nil else {
            continuation.resume(
                throwing: RPCError(code: .internal, message: "concurrent writes to one stream", reason: .`internal`))
            return
        }
        calls[streamID]?.pendingItem = (payload, continuation)
        sendPendingItem(streamID)
    }

    fileprivate func cancelPendingItem(_ streamID: UInt32) {
        guard let pending = calls[streamID]?.pendingItem else { return }
        calls[streamID]?.pendingItem = nil
        pending.continuation.resume(throwing: CancellationError())
    }

    private func sendPendingItem(_ streamID: UInt32) {
        guard let context, let call = calls[streamID], let pending = call.pendingItem,
            call.credit > 0, context.channel.isWritable
        else { return }
        calls[streamID]?.credit -= 1
        calls[streamID]?.pendingItem = nil
        write(.streamItem(streamID: streamID, method: call.method, payload: pending.payload))
        scheduleFlush()
        pending.continuation.resume()
    }

    private func addCredit(_ items: UInt32, to streamID: UInt32) {
        guard let credit = calls[streamID]?.credit else { return }
        let total = UInt64(credit) + UInt64(items)
        guard total <= UInt64(CreditGrant.maxOutstanding) else {
            perform(
                .sendErrorAndClose(
                    RPCError(code: .invalidArgument, message: "credit on stream \(streamID) passed 2^31-1",
                             reason: .flowControlOverflow, processing: .notProcessed)))
            return
        }
        calls[streamID]?.credit = UInt32(total)
        sendPendingItem(streamID)
    }

    // MARK: Writing

    private func write(_ frame: Frame) {
        do throws(FrameEncodingError) {
            try enqueue(frame, with: encoder)
        } catch {
            // Only a payload can be too large; the error frame that replaces it is small.
            try? enqueue(.error(streamID: frame.streamID, method: frame.method, error.rpcError), with: encoder)
        }
    }
}

@available(*, unavailable)
extension RPCServerConnectionHandler: Sendable {}

/// Hands a stream handler's items to the connection on its event loop.
private struct ConnectionStreamSink: ServerStreamSink {
    let handler: NIOLoopBound<RPCServerConnectionHandler>
    let eventLoop: any EventLoop
    let streamID: UInt32

    func write(_ payload: ByteBuffer) async throws {
        try Task.checkCancellation()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                eventLoop.execute { handler.value.enqueueStreamItem(streamID, payload, continuation) }
            }
        } onCancel: {
            eventLoop.execute { handler.value.cancelPendingItem(streamID) }
        }
    }
}

extension NIOSSLCertificate {
    /// The subject's common name (the last one, if several), which caller policies key on.
    public var commonName: String? {
        subjectName.last { $0.type == .commonName }?.value
    }
}
