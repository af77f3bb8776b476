internal import Logging
internal import NIOConcurrencyHelpers
internal import NIOCore
internal import WireProtocol

/// One client connection on its event loop: cuts its bytes into frames (``FrameReader``), drives
/// the ``ClientConnectionStateMachine``, matches answers to waiting calls, enforces client-side
/// deadlines, grants stream credit and sends keepalive pings.
final class RPCClientConnectionHandler: ChannelInboundHandler, FlushCoalescing {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// How a waiting call receives its answer.
    enum Pending {
        case unary(UnaryWaiter)
        case stream(ClientStreamSource)
    }

    private struct Call {
        var pending: Pending
        var deadlineTimer: Scheduled<Void>?
    }

    private var machine: ClientConnectionStateMachine
    private var reader: FrameReader
    private var encoder = FrameEncoder()
    private var calls = StreamTable<Call>()
    private(set) var context: ChannelHandlerContext?
    private let handshake: EventLoopPromise<NegotiatedParameters>
    private let keepaliveInterval: TimeAmount?
    private var keepaliveTask: RepeatedTask?
    private var unansweredPing: UInt64?
    private var nextPing: UInt64 = 1
    var flushes = FlushState()
    /// Whether new calls can start; read from any thread by ``RPCConnection/isUsable``.
    let usable: NIOLockedValueBox<Bool>
    private var isUsable: Bool {
        get { usable.withLockedValue { $0 } }
        set { usable.withLockedValue { $0 = newValue } }
    }

    init(
        hello: Hello, frameLimit: FrameSizeLimit, handshake: EventLoopPromise<NegotiatedParameters>, keepaliveInterval: TimeAmount?,
        usable: NIOLockedValueBox<Bool>
    ) {
        self.usable = usable
        self.machine = ClientConnectionStateMachine(localHello: hello)
        self.reader = FrameReader(FrameDecoder(maxFrameSize: frameLimit, expectPreface: false))
        self.handshake = handshake
        self.keepaliveInterval = keepaliveInterval
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard case .sendPrefaceAndHello(let hello) = machine.start() else { return }
        var buffer = context.channel.allocator.buffer(capacity: 64)
        FrameEncoder.writePreface(into: &buffer)
        try? encoder.encode(.hello(hello), into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let truncated = reader.endOfInput() { perform(machine.decodingFailed(truncated)) }
        isUsable = false
        keepaliveTask?.cancel()
        _ = machine.connectionClosed()
        failAll(RPCError(code: .unavailable, message: "the connection closed", reason: .connectionClosed))
        handshake.fail(RPCError(code: .unavailable, message: "the connection closed during the handshake",
                                reason: .connectionClosed, processing: .notProcessed))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure = RPCError(code: .unavailable, message: "connection failed: \(error)", reason: .connectionFailed)
        failAll(failure)
        handshake.fail(failure)
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reader.append(unwrapInboundIn(data))
        readBurstStarted()
        while true {
            let frame: Frame?
            do throws(FrameDecodingError) {
                frame = try reader.next()
            } catch {
                perform(machine.decodingFailed(error))
                return
            }
            guard let frame else { return }
            perform(machine.receivedFrame(frame))
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event as? ChannelEvent == .some(.inputClosed), let truncated = reader.endOfInput() {
            perform(machine.decodingFailed(truncated))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        readBurstEnded()
        context.fireChannelReadComplete()
    }

    // MARK: Calls (on the event loop)

    func startCall(
        method: MethodID, payload: ByteBuffer, metadata: Metadata, timeout: TimeAmount?, pending: Pending
    ) {
        switch machine.openCall() {
        case .failure(let error):
            fail(pending, error)
        case .success(let streamID):
            var metadata = metadata
            if let timeout {
                metadata.timeoutMilliseconds = UInt32(clamping: max(timeout.nanoseconds / 1_000_000, 1))
            }
            var call = Call(pending: pending)
            if let timeout, let context {
                let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
                call.deadlineTimer = context.eventLoop.scheduleTask(in: timeout) {
                    loopBound.value.deadlinePassed(streamID)
                }
            }
            if case .stream(let source) = pending {
                source.attach(streamID: streamID)
                metadata.initialCredit = source.initialCredit
            }
            calls[streamID] = call
            write(.request(streamID: streamID, method: method, metadata: metadata, payload: payload))
            scheduleFlush()
        }
    }

    /// The caller gave up (task cancelled, or the stream consumer stopped).
    func cancelCall(streamID: UInt32, error: RPCError) {
        guard let call = calls.removeValue(forKey: streamID) else { return }
        call.deadlineTimer?.cancel()
        if machine.cancelCall(streamID: streamID) {
            write(.cancel(streamID: streamID))
            scheduleFlush()
        }
        fail(call.pending, error)
    }

    func cancelUnary(_ waiter: UnaryWaiter) {
        guard let streamID = calls.first(where: {
            if case .unary(let other) = $0.value.pending { return other === waiter }
            return false
        })?.key else { return }
        cancelCall(streamID: streamID, error: RPCError(code: .cancelled, message: "the call was cancelled", reason: .cancelled))
    }

    func grantCredit(streamID: UInt32, items: UInt32) {
        guard calls[streamID] != nil, items > 0 else { return }
        write(.credit(streamID: streamID, items: items))
        scheduleFlush()
    }

    func close(graceful: Bool) {
        guard let context else { return }
        if graceful {
            perform(machine.beginGracefulShutdown())
            flushNow()
        } else {
            context.close(promise: nil)
        }
    }

    private func deadlinePassed(_ streamID: UInt32) {
        cancelCall(
            streamID: streamID,
            error: RPCError(code: .deadlineExceeded, message: "the deadline passed before the answer arrived", reason: .deadlineExceeded))
    }

    // MARK: Actions

    private func perform(_ action: ClientConnectionStateMachine.Action) {
        guard let context else { return }
        switch action {
        case .none, .sendPrefaceAndHello:
            break
        case .handshakeCompleted(let parameters):
            encoder.peerMaxFrameSize = parameters.peerMaxFrameSize
            isUsable = true
            startKeepalive(context, minimum: parameters.minPingIntervalMilliseconds)
            handshake.succeed(parameters)
        case .deliver(let frame, let finished, let thenClose):
            deliver(frame, finished: finished)
            if thenClose { context.close(promise: nil) }
        case .sendPong(let value):
            write(.pong(value))
        case .pongReceived(let value):
            if value == unansweredPing { unansweredPing = nil }
        case .goAwayReceived(let goAway, let refused, let thenClose):
            isUsable = false
            for streamID in refused {
                guard let call = calls.removeValue(forKey: streamID) else { continue }
                call.deadlineTimer?.cancel()
                fail(call.pending, RPCError(code: .unavailable, message: "the server is draining: \(goAway.message)",
                                            reason: .draining, processing: .notProcessed))
            }
            if thenClose { context.close(promise: nil) }
        case .sendGoAway(let goAway, let thenClose):
            isUsable = false
            write(.goAway(goAway))
            if thenClose {
                closeAfterFlush()
            }
        case .failConnection(let error, let notifyPeer):
            isUsable = false
            handshake.fail(error)
            failAll(error)
            if notifyPeer {
                write(.error(streamID: 0, error))
                closeAfterFlush()
            } else {
                context.close(promise: nil)
            }
        }
    }

    private func deliver(_ frame: Frame, finished: Bool) {
        guard let call = finished ? calls.removeValue(forKey: frame.streamID) : calls[frame.streamID] else { return }
        if finished { call.deadlineTimer?.cancel() }
        switch (frame.type, call.pending) {
        case (.response, .unary(let waiter)):
            waiter.finish(.success(frame.payload))
        case (.error, _):
            let error = (try? RPCError(payload: frame.payload))
                ?? RPCError(code: .internal, message: "unreadable error from the server", reason: .malformedPayload)
            fail(call.pending, error)
        case (.streamItem, .stream(let source)):
            source.yield(frame.payload)
        case (.streamEnd, .stream(let source)):
            source.finish()
        default:
            fail(call.pending, RPCError(code: .internal, message: "\(frame.type) does not fit this call", reason: .unexpectedFrame))
        }
    }

    private func fail(_ pending: Pending, _ error: RPCError) {
        switch pending {
        case .unary(let waiter): waiter.finish(.failure(error))
        case .stream(let source): source.finish(throwing: error)
        }
    }

    private func failAll(_ error: RPCError) {
        let all = calls
        calls.removeAll()
        for call in all.values {
            call.deadlineTimer?.cancel()
            fail(call.pending, error)
        }
    }

    private func startKeepalive(_ context: ChannelHandlerContext, minimum: UInt32) {
        guard let interval = keepaliveInterval else { return }
        let every = max(interval, .milliseconds(Int64(minimum)))
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        keepaliveTask = context.eventLoop.scheduleRepeatedTask(initialDelay: every, delay: every) { _ in
            let handler = loopBound.value
            if handler.unansweredPing != nil {
                handler.perform(.failConnection(
                    RPCError(code: .unavailable, message: "no PONG within \(every)", reason: .keepaliveTimeout), notifyPeer: true))
                return
            }
            handler.unansweredPing = handler.nextPing
            handler.write(.ping(handler.nextPing))
            handler.nextPing &+= 1
            handler.flushNow()
        }
    }

    // MARK: Writing


    private func write(_ frame: Frame) {
        do throws(FrameEncodingError) {
            try enqueue(frame, with: encoder)
        } catch {
            if let call = calls.removeValue(forKey: frame.streamID) {
                call.deadlineTimer?.cancel()
                _ = machine.cancelCall(streamID: frame.streamID)
                fail(call.pending, error.rpcError)
            }
        }
    }

}

@available(*, unavailable)
extension RPCClientConnectionHandler: Sendable {}
