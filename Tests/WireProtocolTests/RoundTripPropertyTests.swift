import Foundation
import NIOCore
import Testing
@testable import WireProtocol
internal import CRMAPI

/// Property: for every frame type, any valid frame with any metadata encodes to bytes that decode
/// to the same frame, also when many frames share one buffer. Seeds make failures reproducible.
@Suite("Round trips (property-based)")
struct RoundTripPropertyTests {
    static let casesPerType = 300

    private static func randomString(_ rng: inout SeededGenerator, maxBytes: Int) -> String {
        let alphabet = Array("abcXYZ0189-_.:/=张三李四王五😀é ")
        var result = ""
        let count = Int.random(in: 1...max(1, maxBytes / 4), using: &rng)
        for _ in 0..<count { result.append(alphabet.randomElement(using: &rng)!) }
        return result
    }

    private static func randomMetadata(_ rng: inout SeededGenerator) -> Metadata {
        func maybe<T>(_ make: () -> T) -> T? { Bool.random(using: &rng) ? make() : nil }
        var metadata = Metadata()
        metadata.timeoutMilliseconds = Bool.random(using: &rng) ? UInt32.random(in: 0...UInt32.max, using: &rng) : nil
        metadata.traceparent = Bool.random(using: &rng) ? randomString(&rng, maxBytes: 128) : nil
        metadata.tracestate = Bool.random(using: &rng) ? randomString(&rng, maxBytes: 512) : nil
        metadata.idempotencyKey = Bool.random(using: &rng) ? randomString(&rng, maxBytes: 128) : nil
        metadata.attempt = Bool.random(using: &rng) ? UInt16.random(in: 0...UInt16.max, using: &rng) : nil
        metadata.callerSystem = Bool.random(using: &rng) ? randomString(&rng, maxBytes: 128) : nil
        metadata.callerRole = Bool.random(using: &rng) ? randomString(&rng, maxBytes: 64) : nil
        metadata.endUser = Bool.random(using: &rng) ? randomString(&rng, maxBytes: 128) : nil
        metadata.initialCredit = Bool.random(using: &rng) ? UInt32.random(in: 0...UInt32.max, using: &rng) : nil
        return metadata
    }

    private static func randomBytes(_ rng: inout SeededGenerator, max: Int) -> ByteBuffer {
        let count = Int.random(in: 0...max, using: &rng)
        var buffer = ByteBuffer()
        for _ in 0..<count { buffer.writeInteger(UInt8.random(in: 0...255, using: &rng)) }
        return buffer
    }

    private static func randomFrame(of type: FrameType, _ rng: inout SeededGenerator) -> Frame {
        let stream = UInt32.random(in: 1...UInt32.max, using: &rng)
        let method = MethodID(service: .random(in: 1...UInt16.max, using: &rng), method: .random(in: 0...UInt16.max, using: &rng))
        var frame: Frame
        switch type {
        case .hello, .helloAck:
            let low = UInt16.random(in: 1...100, using: &rng)
            let hello = Hello(
                minVersion: low, maxVersion: low + .random(in: 0...5, using: &rng),
                maxFrameSize: .random(in: UInt32(FrameSizeLimit.minMaxFrameSize)...UInt32.max, using: &rng),
                maxConcurrentStreams: .random(in: 1...UInt32.max, using: &rng),
                minPingIntervalMilliseconds: .random(in: 0...UInt32.max, using: &rng),
                features: Hello.Features(rawValue: .random(in: 0...UInt64.max, using: &rng)))
            frame = type == .hello ? .hello(hello) : .helloAck(hello)
            #expect((try? Hello(payload: frame.payload, type: type)) == hello)
        case .request:
            frame = .request(streamID: stream, method: method, payload: randomBytes(&rng, max: 300))
        case .response:
            frame = .response(streamID: stream, method: method, payload: randomBytes(&rng, max: 300))
        case .error:
            var error = RPCError(
                code: ErrorCode(rawValue: .random(in: 0...20, using: &rng)), message: randomString(&rng, maxBytes: 200),
                reason: ErrorReason(randomString(&rng, maxBytes: 40)),
                processing: Bool.random(using: &rng) ? .notProcessed : .maybeProcessed,
                fieldViolations: (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                    .init(field: randomString(&rng, maxBytes: 30), description: randomString(&rng, maxBytes: 60))
                },
                retryAfterMilliseconds: Bool.random(using: &rng) ? .random(in: 1...UInt32.max, using: &rng) : nil,
                details: Bool.random(using: &rng) ? ["current_version": "\(Int.random(in: 0...99, using: &rng))"] : [:])
            if Bool.random(using: &rng) { error.supportedVersions = 1...UInt16.random(in: 1...9, using: &rng) }
            frame = .error(streamID: Bool.random(using: &rng) ? 0 : stream, method: method, error)
            #expect((try? RPCError(payload: frame.payload)) == error)
        case .streamItem:
            frame = .streamItem(streamID: stream, method: method, payload: randomBytes(&rng, max: 300))
        case .streamEnd:
            frame = .streamEnd(streamID: stream, method: method)
        case .credit:
            let items = UInt32.random(in: 1...CreditGrant.maxOutstanding, using: &rng)
            frame = .credit(streamID: stream, items: items)
            #expect((try? CreditGrant(payload: frame.payload))?.items == items)
        case .cancel:
            frame = .cancel(streamID: stream)
        case .ping, .pong:
            let value = UInt64.random(in: 0...UInt64.max, using: &rng)
            frame = type == .ping ? .ping(value) : .pong(value)
            #expect((try? PingPayload(payload: frame.payload))?.value == value)
        case .goAway:
            let goAway = GoAway(
                lastStreamID: .random(in: 0...UInt32.max, using: &rng), code: ErrorCode(rawValue: .random(in: 0...16, using: &rng)),
                message: randomString(&rng, maxBytes: 200))
            frame = .goAway(goAway)
            #expect((try? GoAway(payload: frame.payload)) == goAway)
        }
        frame.metadata = randomMetadata(&rng)
        frame.flags = FrameFlags(rawValue: .random(in: 0...UInt16.max, using: &rng))
        return frame
    }

    @Test("random frames of every type round-trip", arguments: FrameType.allCases)
    func roundTrip(type: FrameType) throws {
        var rng = SeededGenerator(seed: 0xC0FFEE ^ UInt64(type.rawValue))
        var frames: [Frame] = []
        for _ in 0..<Self.casesPerType {
            let frame = Self.randomFrame(of: type, &rng)
            let bytes = try ByteBuffer.frames([frame])
            #expect(bytes.readableBytes == frame.encodedSize)
            let decoded = try decodeAll(bytes, maxFrameSize: FrameSizeLimit.hardMaxFrameSize)
            #expect(decoded == [frame])
            frames.append(frame)
        }
        // All of them back to back, cut into random chunks.
        let stream = try ByteBuffer.frames(frames)
        var decoder = FrameDecoder(maxFrameSize: try FrameSizeLimit(FrameSizeLimit.hardMaxFrameSize), expectPreface: false)
        var pending = ByteBuffer()
        var decoded: [Frame] = []
        var offset = 0
        while offset < stream.readableBytes {
            let chunk = min(Int.random(in: 1...97, using: &rng), stream.readableBytes - offset)
            pending.writeImmutableBuffer(stream.getSlice(at: offset, length: chunk)!)
            offset += chunk
            while let frame = try decoder.decodeFrame(buffer: &pending) { decoded.append(frame) }
        }
        #expect(decoded == frames)
    }

    @Test("protobuf payloads decode from the frame's bytes")
    func protobufPayload() throws {
        var request = Crm_System_V1_EchoRequest()
        request.payload = Data("你好, bank".utf8)
        let frame = Frame.request(streamID: 1, method: SystemMethods.echo.id, payload: try request.encodedPayload())
        let decoded = try #require(try decodeAll(try ByteBuffer.frames([frame])).first)
        #expect(try Crm_System_V1_EchoRequest(payload: decoded.payload) == request)
    }
}
