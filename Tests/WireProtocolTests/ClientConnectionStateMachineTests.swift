import NIOCore
import Testing
@testable import WireProtocol
internal import CRMAPI

@Suite("Client connection state machine")
struct ClientConnectionStateMachineTests {
    let echo = SystemMethods.echo.id

    func makeOpen(maxStreams: UInt32 = 8, firstStreamID: UInt32 = 1) -> ClientConnectionStateMachine {
        var machine = ClientConnectionStateMachine(localHello: Hello(), firstStreamID: firstStreamID)
        _ = machine.start()
        _ = machine.receivedFrame(.helloAck(Hello(maxConcurrentStreams: maxStreams)))
        return machine
    }

    func failure(_ action: ClientConnectionStateMachine.Action) -> RPCError? {
        if case .failConnection(let error, _) = action { return error }
        return nil
    }

    func openCallError(_ machine: inout ClientConnectionStateMachine) -> RPCError? {
        if case .failure(let error) = machine.openCall() { return error }
        return nil
    }

    @Test("idle + start -> preface and HELLO; a second start does nothing")
    func start() {
        var machine = ClientConnectionStateMachine()
        #expect(machine.start() == .sendPrefaceAndHello(Hello()))
        #expect(machine.state == .awaitingHelloAck)
        #expect(machine.start() == .none)
    }

    @Test("before the handshake completes no call can start")
    func noCallBeforeHandshake() {
        var machine = ClientConnectionStateMachine()
        #expect(openCallError(&machine)?.reason == "NOT_READY")
        _ = machine.start()
        #expect(openCallError(&machine)?.processing == .notProcessed)
    }

    @Test("awaiting ack + HELLO_ACK -> open with the server's limits")
    func ackOpens() {
        var machine = ClientConnectionStateMachine()
        _ = machine.start()
        let action = machine.receivedFrame(.helloAck(Hello(maxConcurrentStreams: 3)))
        guard case .handshakeCompleted(let parameters) = action else {
            Issue.record("expected completion, got \(action)")
            return
        }
        #expect(parameters.maxConcurrentStreams == 3)
        #expect(machine.state == .open)
    }

    @Test("awaiting ack + ERROR on stream 0 -> fail with the server's error")
    func serverRefusesHandshake() {
        var machine = ClientConnectionStateMachine()
        _ = machine.start()
        var refusal = RPCError(code: .failedPrecondition, message: "no common version", reason: ErrorReason("UNSUPPORTED_VERSION"))
        refusal.supportedVersions = 2...3
        let action = machine.receivedFrame(.error(streamID: 0, refusal))
        #expect(action == .failConnection(refusal, notifyPeer: false))
        #expect(machine.state == .closed)
    }

    @Test("awaiting ack + an ack outside our versions -> fail")
    func badAck() {
        var machine = ClientConnectionStateMachine()
        _ = machine.start()
        #expect(failure(machine.receivedFrame(.helloAck(Hello(minVersion: 4, maxVersion: 4))))?.reason == "UNSUPPORTED_VERSION")
    }

    @Test("awaiting ack + any other frame -> UNEXPECTED_FRAME")
    func unexpectedBeforeAck() {
        var machine = ClientConnectionStateMachine()
        _ = machine.start()
        #expect(failure(machine.receivedFrame(.ping(1)))?.reason == "UNEXPECTED_FRAME")
    }

    @Test("open: calls get increasing stream ids up to the server's limit")
    func openCalls() throws {
        var machine = makeOpen(maxStreams: 2)
        #expect(try machine.openCall().get() == 1)
        #expect(try machine.openCall().get() == 2)
        #expect(openCallError(&machine)?.reason == "TOO_MANY_STREAMS")
        _ = machine.receivedFrame(.response(streamID: 1, method: echo, payload: ByteBuffer()))
        #expect(try machine.openCall().get() == 3)
    }

    @Test("open + RESPONSE, ERROR, STREAM_END finish their call; STREAM_ITEM does not")
    func delivery() throws {
        var machine = makeOpen()
        let a = try machine.openCall().get()
        let b = try machine.openCall().get()
        let c = try machine.openCall().get()
        let item = Frame.streamItem(streamID: c, method: echo, payload: ByteBuffer())
        #expect(machine.receivedFrame(item) == .deliver(item, callFinished: false, thenClose: false))
        let response = Frame.response(streamID: a, method: echo, payload: ByteBuffer())
        #expect(machine.receivedFrame(response) == .deliver(response, callFinished: true, thenClose: false))
        let error = Frame.error(streamID: b, RPCError(code: .notFound, message: "none"))
        #expect(machine.receivedFrame(error) == .deliver(error, callFinished: true, thenClose: false))
        let end = Frame.streamEnd(streamID: c, method: echo)
        #expect(machine.receivedFrame(end) == .deliver(end, callFinished: true, thenClose: false))
        #expect(machine.openCallCount == 0)
    }

    @Test("open + a frame for a cancelled call is dropped; for a never-opened call the connection fails")
    func cancelledAndUnknown() throws {
        var machine = makeOpen()
        let id = try machine.openCall().get()
        let first = machine.cancelCall(streamID: id)
        let second = machine.cancelCall(streamID: id)
        #expect(first)
        #expect(!second)
        #expect(machine.receivedFrame(.response(streamID: id, method: echo, payload: ByteBuffer())) == .none)
        #expect(failure(machine.receivedFrame(.response(streamID: 50, method: echo, payload: ByteBuffer())))?.reason == "UNEXPECTED_FRAME")
    }

    @Test("open + PING -> PONG; PONG -> reported")
    func pingPong() {
        var machine = makeOpen()
        #expect(machine.receivedFrame(.ping(5)) == .sendPong(5))
        #expect(machine.receivedFrame(.pong(6)) == .pongReceived(6))
    }

    @Test("open + GOAWAY -> calls above its last id refused; draining; the last answer closes")
    func goAway() throws {
        var machine = makeOpen()
        for _ in 0..<3 { _ = try machine.openCall().get() }
        let goAway = GoAway(lastStreamID: 1, code: .ok, message: "restart")
        #expect(machine.receivedFrame(.goAway(goAway)) == .goAwayReceived(goAway, refusedStreams: [2, 3], thenClose: false))
        #expect(machine.state == .draining)
        #expect(openCallError(&machine)?.reason == "DRAINING")
        let response = Frame.response(streamID: 1, method: echo, payload: ByteBuffer())
        #expect(machine.receivedFrame(response) == .deliver(response, callFinished: true, thenClose: true))
        #expect(machine.state == .closed)
    }

    @Test("open + GOAWAY with nothing running -> closed")
    func goAwayIdle() {
        var machine = makeOpen()
        let goAway = GoAway(lastStreamID: 0)
        #expect(machine.receivedFrame(.goAway(goAway)) == .goAwayReceived(goAway, refusedStreams: [], thenClose: true))
        #expect(machine.state == .closed)
    }

    @Test("open + a frame only clients send -> UNEXPECTED_FRAME", arguments: [
        Frame.request(streamID: 1, method: SystemMethods.echo.id, payload: ByteBuffer()), .credit(streamID: 1, items: 1),
        .cancel(streamID: 1),
    ])
    func unexpectedWhileOpen(frame: Frame) {
        var machine = makeOpen()
        #expect(failure(machine.receivedFrame(frame))?.reason == "UNEXPECTED_FRAME")
        #expect(machine.state == .closed)
    }

    @Test("open + ERROR on stream 0 -> fail every call with it")
    func connectionError() throws {
        var machine = makeOpen()
        _ = try machine.openCall().get()
        let error = RPCError(code: .unavailable, message: "overloaded")
        #expect(machine.receivedFrame(.error(streamID: 0, error)) == .failConnection(error, notifyPeer: false))
        #expect(machine.connectionClosed() == [1])
    }

    @Test("stream ids exhausted -> UNAVAILABLE, not processed, and no new calls here")
    func streamIDsExhausted() throws {
        var machine = makeOpen(firstStreamID: .max - 1)
        #expect(try machine.openCall().get() == .max - 1)
        #expect(openCallError(&machine)?.reason == "STREAM_IDS_EXHAUSTED")
        #expect(machine.state == .draining)
    }

    @Test("shutdown: GOAWAY; close at once if idle, after the last answer if busy")
    func shutdown() throws {
        var idle = makeOpen()
        guard case .sendGoAway(_, thenClose: true) = idle.beginGracefulShutdown() else {
            Issue.record("expected GOAWAY and close")
            return
        }
        var busy = makeOpen()
        let id = try busy.openCall().get()
        guard case .sendGoAway(_, thenClose: false) = busy.beginGracefulShutdown() else {
            Issue.record("expected GOAWAY")
            return
        }
        #expect(busy.state == .draining)
        let response = Frame.response(streamID: id, method: echo, payload: ByteBuffer())
        #expect(busy.receivedFrame(response) == .deliver(response, callFinished: true, thenClose: true))
    }

    @Test("undecodable bytes from the server -> fail and tell the server")
    func decodingFailed() {
        var machine = makeOpen()
        guard case .failConnection(_, notifyPeer: true) = machine.decodingFailed(FrameDecodingError(.unknownFrameType(0x33))) else {
            Issue.record("expected failure")
            return
        }
        #expect(machine.state == .closed)
        #expect(machine.receivedFrame(.ping(1)) == .none)
    }
}
