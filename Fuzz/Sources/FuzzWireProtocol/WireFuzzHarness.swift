import NIOCore
import WireProtocol
internal import CRMAPI

/// Runs one input through everything that reads a peer's bytes: the frame decoder (with and
/// without the preface), every control payload parser, the error and message decoders, and both
/// connection state machines. Any input must return normally; a broken invariant traps.
///
/// Shared by the libFuzzer entry point (`scripts/fuzz`) and the corpus replay test, which holds a
/// symlink to this file.
enum WireFuzzHarness {
    static func run(_ input: UnsafeRawBufferPointer) {
        guard let mode = input.first else { return }
        var buffer = ByteBuffer(bytes: input.dropFirst())
        var decoder = FrameDecoder(expectPreface: mode & 1 == 1)
        var server = ServerConnectionStateMachine(localHello: Hello())
        var client = ClientConnectionStateMachine()
        _ = client.start()
        var now = NIODeadline.uptimeNanoseconds(0)

        while true {
            let frame: Frame?
            do {
                frame = try decoder.decodeFrame(buffer: &buffer)
            } catch {
                _ = server.decodingFailed(error)
                _ = client.decodingFailed(error)
                _ = error.rpcError.encodedPayload
                return
            }
            guard let frame else { break }
            checkRoundTrip(frame)
            parsePayload(of: frame)
            _ = server.receivedFrame(frame, now: now)
            _ = server.finishCall(streamID: frame.streamID)
            _ = client.receivedFrame(frame)
            _ = client.openCall()
            now = now + .milliseconds(Int64(mode >> 1))
        }
        _ = try? decoder.decodeLast(buffer: &buffer, seenEOF: true)
        _ = server.beginGracefulShutdown()
        _ = client.beginGracefulShutdown()
    }

    /// A decoded frame re-encodes to bytes that decode to the same frame.
    private static func checkRoundTrip(_ frame: Frame) {
        var bytes = ByteBuffer()
        do {
            try FrameEncoder(peerMaxFrameSize: FrameSizeLimit.hardMaxFrameSize).encode(frame, into: &bytes)
            var decoder = FrameDecoder(maxFrameSize: try FrameSizeLimit(FrameSizeLimit.hardMaxFrameSize), expectPreface: false)
            let again = try decoder.decodeFrame(buffer: &bytes)
            precondition(again == frame, "re-encoded frame decodes differently")
            precondition(bytes.readableBytes == 0, "re-encoded frame left bytes behind")
        } catch {
            preconditionFailure("a decoded frame failed to re-encode or re-decode: \(error)")
        }
    }

    private static func parsePayload(of frame: Frame) {
        switch frame.type {
        case .hello, .helloAck:
            if let hello = try? Hello(payload: frame.payload, type: frame.type) {
                precondition((try? Hello(payload: hello.encodedPayload)) == hello, "hello round trip")
            }
        case .goAway:
            if let goAway = try? GoAway(payload: frame.payload) {
                precondition((try? GoAway(payload: goAway.encodedPayload)) == goAway, "goaway round trip")
            }
        case .credit:
            _ = try? CreditGrant(payload: frame.payload)
        case .ping, .pong:
            _ = try? PingPayload(payload: frame.payload)
        case .error:
            if let error = try? RPCError(payload: frame.payload) {
                let again = try? RPCError(payload: error.encodedPayload)
                precondition(again?.code == error.code && again?.reason == error.reason, "status round trip")
            }
        case .request, .response, .streamItem:
            guard let method = MethodRegistry.method(frame.method) else { return }
            let type = frame.type == .request ? method.requestType : method.responseType
            _ = try? type.init(payload: frame.payload)
        case .streamEnd, .cancel:
            break
        }
    }
}
