import NIOCore
import Testing
@testable import WireProtocol
internal import CRMAPI

@Suite("Server connection state machine")
struct ServerConnectionStateMachineTests {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let echo = SystemMethods.echo.id

    func makeOpen(maxStreams: UInt32 = 4) -> ServerConnectionStateMachine {
        var machine = ServerConnectionStateMachine(localHello: Hello(maxConcurrentStreams: maxStreams))
        _ = machine.receivedFrame(.hello(Hello()), now: t0)
        return machine
    }

    func request(_ id: UInt32) -> Frame { .request(streamID: id, method: echo, payload: ByteBuffer()) }

    func errorReason(_ action: ServerConnectionStateMachine.Action) -> String? {
        switch action {
        case .sendErrorAndClose(let error): error.reason
        case .refuseCall(_, _, let error): error.reason
        default: nil
        }
    }

    // MARK: awaiting hello

    @Test("awaiting hello + HELLO -> open, HELLO_ACK with the chosen version")
    func helloOpens() {
        var machine = ServerConnectionStateMachine(localHello: Hello(maxConcurrentStreams: 8))
        let action = machine.receivedFrame(.hello(Hello(minVersion: 1, maxVersion: 5)), now: t0)
        guard case .sendHelloAck(let ack, let parameters) = action else {
            Issue.record("expected HELLO_ACK, got \(action)")
            return
        }
        #expect(ack.minVersion == 1 && ack.maxVersion == 1)
        #expect(parameters.maxConcurrentStreams == 8)
        #expect(machine.state == .open)
    }

    @Test("awaiting hello + HELLO with no common version -> error naming the range, closed")
    func helloUnsupported() {
        var machine = ServerConnectionStateMachine(localHello: Hello())
        let action = machine.receivedFrame(.hello(Hello(minVersion: 2, maxVersion: 3)), now: t0)
        guard case .sendErrorAndClose(let error) = action else {
            Issue.record("expected an error, got \(action)")
            return
        }
        #expect(error.reason == "UNSUPPORTED_VERSION")
        #expect(error.supportedVersions == 1...1)
        #expect(machine.state == .closed)
    }

    @Test("awaiting hello + malformed HELLO payload -> error, closed")
    func helloMalformed() {
        var machine = ServerConnectionStateMachine(localHello: Hello())
        var frame = Frame.hello(Hello())
        frame.payload = Hello(maxConcurrentStreams: 0).encodedPayload
        #expect(errorReason(machine.receivedFrame(frame, now: t0)) == "MALFORMED_PAYLOAD")
        #expect(machine.state == .closed)
    }

    @Test("awaiting hello + any other frame -> UNEXPECTED_FRAME, closed", arguments: [
        Frame.request(streamID: 1, method: SystemMethods.echo.id, payload: ByteBuffer()), .ping(1), .goAway(GoAway(lastStreamID: 0)),
    ])
    func frameBeforeHello(frame: Frame) {
        var machine = ServerConnectionStateMachine(localHello: Hello())
        #expect(errorReason(machine.receivedFrame(frame, now: t0)) == "UNEXPECTED_FRAME")
        #expect(machine.state == .closed)
    }

    @Test("awaiting hello + handshake timeout -> error, closed; in open it does nothing")
    func handshakeTimeout() {
        var machine = ServerConnectionStateMachine(localHello: Hello())
        #expect(errorReason(machine.handshakeTimedOut()) == "HANDSHAKE_TIMEOUT")
        #expect(machine.state == .closed)
        var open = makeOpen()
        #expect(open.handshakeTimedOut() == .none)
        #expect(open.state == .open)
    }

    @Test("awaiting hello + shutdown -> close")
    func shutdownBeforeHello() {
        var machine = ServerConnectionStateMachine(localHello: Hello())
        #expect(machine.beginGracefulShutdown() == .close)
        #expect(machine.state == .closed)
    }

    // MARK: open

    @Test("open + REQUEST -> start the call")
    func requestStarts() {
        var machine = makeOpen()
        #expect(machine.receivedFrame(request(1), now: t0) == .startCall(request(1)))
        #expect(machine.openCallCount == 1)
        #expect(machine.isCallOpen(streamID: 1))
    }

    @Test("open + REQUEST reusing or lowering a stream id -> STREAM_ID_REUSED, closed")
    func requestReusedID() {
        var machine = makeOpen()
        _ = machine.receivedFrame(request(5), now: t0)
        #expect(errorReason(machine.receivedFrame(request(5), now: t0)) == "STREAM_ID_REUSED")
        #expect(machine.state == .closed)
        var second = makeOpen()
        _ = second.receivedFrame(request(5), now: t0)
        #expect(errorReason(second.receivedFrame(request(3), now: t0)) == "STREAM_ID_REUSED")
    }

    @Test("open + REQUEST above the concurrency limit -> refused, not processed; the connection stays")
    func requestOverLimit() {
        var machine = makeOpen(maxStreams: 2)
        _ = machine.receivedFrame(request(1), now: t0)
        _ = machine.receivedFrame(request(2), now: t0)
        let action = machine.receivedFrame(request(3), now: t0)
        guard case .refuseCall(3, _, let error) = action else {
            Issue.record("expected a refusal, got \(action)")
            return
        }
        #expect(error.code == .resourceExhausted)
        #expect(error.processing == .notProcessed)
        #expect(machine.state == .open)
        #expect(machine.finishCall(streamID: 1) == .write(thenClose: false))
        #expect(machine.receivedFrame(request(4), now: t0) == .startCall(request(4)))
    }

    @Test("open + CANCEL of a running call -> cancel it; of an unknown call -> nothing")
    func cancel() {
        var machine = makeOpen()
        _ = machine.receivedFrame(request(1), now: t0)
        #expect(machine.receivedFrame(.cancel(streamID: 1), now: t0) == .cancelCall(streamID: 1, thenClose: false))
        #expect(machine.finishCall(streamID: 1) == .drop)
        #expect(machine.receivedFrame(.cancel(streamID: 1), now: t0) == .none)
        #expect(machine.receivedFrame(.cancel(streamID: 99), now: t0) == .none)
    }

    @Test("open + CREDIT -> add credit; unknown stream -> nothing; zero -> malformed, closed")
    func credit() {
        var machine = makeOpen()
        _ = machine.receivedFrame(request(1), now: t0)
        #expect(machine.receivedFrame(.credit(streamID: 1, items: 10), now: t0) == .addCredit(streamID: 1, items: 10))
        #expect(machine.receivedFrame(.credit(streamID: 7, items: 10), now: t0) == .none)
        var zero = Frame.credit(streamID: 1, items: 1)
        zero.payload = ByteBuffer(bytes: [0, 0, 0, 0])
        #expect(errorReason(machine.receivedFrame(zero, now: t0)) == "MALFORMED_PAYLOAD")
        #expect(machine.state == .closed)
    }

    @Test("open + PING -> PONG; pings faster than the minimum interval are tolerated twice, then refused")
    func ping() {
        var machine = makeOpen()
        #expect(machine.receivedFrame(.ping(7), now: t0) == .sendPong(7))
        #expect(machine.receivedFrame(.ping(8), now: t0 + .seconds(6)) == .sendPong(8))
        #expect(machine.receivedFrame(.ping(9), now: t0 + .seconds(7)) == .sendPong(9))  // strike 1
        #expect(machine.receivedFrame(.ping(10), now: t0 + .seconds(8)) == .sendPong(10))  // strike 2
        #expect(errorReason(machine.receivedFrame(.ping(11), now: t0 + .seconds(9))) == "PING_ABUSE")
        #expect(machine.state == .closed)
    }

    @Test("open + PONG -> reported to the transport")
    func pong() {
        var machine = makeOpen()
        #expect(machine.receivedFrame(.pong(3), now: t0) == .pongReceived(3))
    }

    @Test("open + client GOAWAY with no calls -> close")
    func clientGoAwayIdle() {
        var machine = makeOpen()
        #expect(machine.receivedFrame(.goAway(GoAway(lastStreamID: 0)), now: t0) == .close)
        #expect(machine.state == .closed)
    }

    @Test("open + client GOAWAY with calls -> draining; the last answer closes")
    func clientGoAwayBusy() {
        var machine = makeOpen()
        _ = machine.receivedFrame(request(1), now: t0)
        #expect(machine.receivedFrame(.goAway(GoAway(lastStreamID: 0)), now: t0) == .none)
        #expect(machine.state == .draining)
        #expect(machine.finishCall(streamID: 1) == .write(thenClose: true))
        #expect(machine.state == .closed)
    }

    @Test("open + ERROR on stream 0 -> close")
    func connectionErrorFromClient() {
        var machine = makeOpen()
        _ = machine.receivedFrame(request(1), now: t0)
        #expect(machine.receivedFrame(.error(streamID: 0, RPCError(code: .internal, message: "bye")), now: t0) == .close)
        #expect(machine.state == .closed)
        #expect(machine.finishCall(streamID: 1) == .drop)
    }

    @Test("open + a frame only servers send -> UNEXPECTED_FRAME, closed", arguments: [
        Frame.response(streamID: 1, method: SystemMethods.echo.id, payload: ByteBuffer()),
        .streamItem(streamID: 1, method: SystemMethods.echo.id, payload: ByteBuffer()),
        .streamEnd(streamID: 1, method: SystemMethods.echo.id),
        .error(streamID: 1, RPCError(code: .internal, message: "x")),
        .hello(Hello()), .helloAck(Hello()),
    ])
    func unexpectedWhileOpen(frame: Frame) {
        var machine = makeOpen()
        var frame = frame
        if frame.type != .hello, frame.type != .helloAck { frame.version = 1 }
        #expect(errorReason(machine.receivedFrame(frame, now: t0)) == "UNEXPECTED_FRAME")
        #expect(machine.state == .closed)
    }

    @Test("open + a frame of another version -> VERSION_MISMATCH, closed")
    func versionMismatch() {
        var machine = makeOpen()
        var frame = request(1)
        frame.version = 2
        #expect(errorReason(machine.receivedFrame(frame, now: t0)) == "VERSION_MISMATCH")
    }

    @Test("open + shutdown with no calls -> GOAWAY and close")
    func shutdownIdle() {
        var machine = makeOpen()
        _ = machine.receivedFrame(request(3), now: t0)
        _ = machine.finishCall(streamID: 3)
        #expect(
            machine.beginGracefulShutdown()
                == .sendGoAwayAndClose(GoAway(lastStreamID: 3, code: .ok, message: "server shutting down")))
        #expect(machine.state == .closed)
    }

    @Test("open + shutdown with calls -> GOAWAY naming the last call; later calls refused; last answer closes")
    func shutdownBusy() {
        var machine = makeOpen()
        _ = machine.receivedFrame(request(1), now: t0)
        _ = machine.receivedFrame(request(2), now: t0)
        #expect(machine.beginGracefulShutdown() == .sendGoAway(GoAway(lastStreamID: 2, code: .ok, message: "server shutting down")))
        #expect(machine.state == .draining)
        let refused = machine.receivedFrame(request(3), now: t0)
        guard case .refuseCall(3, _, let error) = refused else {
            Issue.record("expected a refusal, got \(refused)")
            return
        }
        #expect(error.code == .unavailable)
        #expect(error.processing == .notProcessed)
        #expect(machine.finishCall(streamID: 1) == .write(thenClose: false))
        #expect(machine.finishCall(streamID: 2) == .write(thenClose: true))
        #expect(machine.state == .closed)
    }

    @Test("draining + cancel of the last call -> cancel and close")
    func drainingCancelLast() {
        var machine = makeOpen()
        _ = machine.receivedFrame(request(1), now: t0)
        _ = machine.beginGracefulShutdown()
        #expect(machine.receivedFrame(.cancel(streamID: 1), now: t0) == .cancelCall(streamID: 1, thenClose: true))
        #expect(machine.state == .closed)
    }

    @Test("draining + shutdown again -> the same GOAWAY, still draining")
    func drainingShutdownAgain() {
        var machine = makeOpen()
        _ = machine.receivedFrame(request(1), now: t0)
        _ = machine.beginGracefulShutdown()
        #expect(machine.beginGracefulShutdown() == .sendGoAway(GoAway(lastStreamID: 1, code: .ok, message: "server shutting down")))
        #expect(machine.state == .draining)
    }

    @Test("open + idle timeout -> GOAWAY and close, but only with no calls running")
    func idleTimeout() {
        var busy = makeOpen()
        _ = busy.receivedFrame(request(1), now: t0)
        #expect(busy.idleTimedOut() == .none)
        var idle = makeOpen()
        guard case .sendGoAwayAndClose = idle.idleTimedOut() else {
            Issue.record("expected GOAWAY and close")
            return
        }
        #expect(idle.state == .closed)
    }

    @Test("any state + undecodable bytes -> error with the decoder's code, closed")
    func decodingFailed() {
        var machine = makeOpen()
        let action = machine.decodingFailed(FrameDecodingError(.frameTooLarge(length: .max, maxFrameSize: 4_194_304)))
        guard case .sendErrorAndClose(let error) = action else {
            Issue.record("expected an error")
            return
        }
        #expect(error.code == .resourceExhausted)
        #expect(machine.state == .closed)
    }

    @Test("closed + anything -> nothing")
    func closedIgnoresAll() {
        var machine = makeOpen()
        _ = machine.receivedFrame(request(1), now: t0)
        #expect(machine.connectionClosed() == [1])
        #expect(machine.receivedFrame(request(2), now: t0) == .none)
        #expect(machine.receivedFrame(.ping(1), now: t0) == .none)
        #expect(machine.finishCall(streamID: 1) == .drop)
        #expect(machine.beginGracefulShutdown() == .none)
        #expect(machine.decodingFailed(FrameDecodingError(.methodRequired)) == .none)
    }
}
