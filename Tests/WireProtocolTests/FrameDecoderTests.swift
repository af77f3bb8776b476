import NIOCore
import NIOTestUtils
import Testing
@testable import WireProtocol
internal import CRMAPI

@Suite("Frame decoder")
struct FrameDecoderTests {
    static let sampleFrames: [Frame] = [
        .hello(Hello()),
        .request(
            streamID: 1, method: SystemMethods.echo.id,
            metadata: Metadata(timeoutMilliseconds: 250, traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            payload: ByteBuffer(bytes: [0x0A, 0x02, 0x68, 0x69])),
        .response(streamID: 1, method: SystemMethods.echo.id, payload: ByteBuffer(bytes: [0x0A, 0x02, 0x68, 0x69])),
        .error(streamID: 3, method: SystemMethods.health.id, RPCError(code: .notFound, message: "no such customer")),
        .streamItem(streamID: 5, method: MethodID(service: 2, method: 9), payload: ByteBuffer(bytes: [1, 2, 3])),
        .streamEnd(streamID: 5, method: MethodID(service: 2, method: 9)),
        .credit(streamID: 5, items: 32),
        .cancel(streamID: 7),
        .ping(0x0102_0304_0506_0708),
        .pong(0x0102_0304_0506_0708),
        .goAway(GoAway(lastStreamID: 7, code: .ok, message: "bye")),
        .request(streamID: 9, method: MethodID(service: 2, method: 1), payload: ByteBuffer()),
    ]

    @Test("ByteToMessageDecoderVerifier: whole, byte by byte, batched and shuffled")
    func verifier() throws {
        let pairs = try Self.sampleFrames.map { (try ByteBuffer.frames([$0]), [$0]) }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            FrameDecoder(expectPreface: false)
        }
        // Several frames in one input.
        let all = try ByteBuffer.frames(Self.sampleFrames)
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: [(all, Self.sampleFrames)]) {
            FrameDecoder(expectPreface: false)
        }
    }

    @Test("server side: the preface then frames, split at every possible point")
    func prefaceSplitAnywhere() throws {
        // The verifier replays inputs on one stream, which a once-per-connection preface cannot
        // follow, so the preface is checked by splitting preface+frames at every offset.
        let expected: [Frame] = [.hello(Hello()), .ping(1)]
        let input = try ByteBuffer.frames(expected, preface: true)
        for split in 0...input.readableBytes {
            var decoder = FrameDecoder(expectPreface: true)
            var first = input.getSlice(at: 0, length: split)!
            var decoded: [Frame] = []
            while let frame = try decoder.decodeFrame(buffer: &first) { decoded.append(frame) }
            var rest = first
            rest.writeImmutableBuffer(input.getSlice(at: split, length: input.readableBytes - split)!)
            while let frame = try decoder.decodeFrame(buffer: &rest) { decoded.append(frame) }
            #expect(decoded == expected, "split at \(split)")
            #expect(rest.readableBytes == 0)
        }
    }

    @Test("a wrong preface byte is refused at that byte")
    func badPreface() {
        var input = ByteBuffer(bytes: [0x89, 0x43, 0x52, 0x58])
        var decoder = FrameDecoder(expectPreface: true)
        #expect(decodingError { _ = try decoder.decodeFrame(buffer: &input) } == .badPreface(offset: 3, byte: 0x58))
        // A TLS ClientHello on a plain port fails on its first byte.
        var tls = ByteBuffer(bytes: [0x16, 0x03, 0x01])
        var second = FrameDecoder(expectPreface: true)
        #expect(decodingError { _ = try second.decodeFrame(buffer: &tls) } == .badPreface(offset: 0, byte: 0x16))
    }

    @Test("length 0 is below the fixed header")
    func lengthZero() {
        let input = ByteBuffer(bytes: [0, 0, 0, 0])
        #expect(decodingError { _ = try decodeAll(input) } == .frameTooShort(length: 0))
    }

    @Test("length 15 is one byte short of the fixed header")
    func lengthFifteen() {
        let input = ByteBuffer.rawFrame(length: 15)
        #expect(decodingError { _ = try decodeAll(input) } == .frameTooShort(length: 15))
    }

    @Test("length exactly the maximum is accepted", arguments: [FrameSizeLimit.minMaxFrameSize, FrameSizeLimit.defaultMaxFrameSize])
    func lengthMax(max: Int) throws {
        let payload = [UInt8](repeating: 0xAB, count: max - WireFormat.fixedHeaderSize)
        let input = ByteBuffer.rawFrame(payload: payload)
        let frames = try decodeAll(input, maxFrameSize: max)
        #expect(frames.count == 1)
        #expect(frames[0].payload.readableBytes == payload.count)
    }

    @Test("length max+1 is refused from the four prefix bytes alone, before any payload arrives")
    func lengthMaxPlusOne() {
        let max = FrameSizeLimit.defaultMaxFrameSize
        var prefixOnly = ByteBuffer()
        prefixOnly.writeInteger(UInt32(max + 1))
        var decoder = FrameDecoder(expectPreface: false)
        #expect(
            decodingError { _ = try decoder.decodeFrame(buffer: &prefixOnly) }
                == .frameTooLarge(length: UInt32(max + 1), maxFrameSize: max))
    }

    @Test("length 2^32-1 is refused at once")
    func lengthAllOnes() {
        var input = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF])
        var decoder = FrameDecoder(expectPreface: false)
        #expect(
            decodingError { _ = try decoder.decodeFrame(buffer: &input) }
                == .frameTooLarge(length: .max, maxFrameSize: FrameSizeLimit.defaultMaxFrameSize))
    }

    @Test("the configured maximum is bounded by the 16 MiB hard cap and the 16 KiB floor")
    func frameSizeLimitRange() throws {
        #expect(throws: ConfigurationRangeError.self) { try FrameSizeLimit(FrameSizeLimit.hardMaxFrameSize + 1) }
        #expect(throws: ConfigurationRangeError.self) { try FrameSizeLimit(FrameSizeLimit.minMaxFrameSize - 1) }
        #expect(try FrameSizeLimit(FrameSizeLimit.hardMaxFrameSize).value == 16 * 1024 * 1024)
    }

    @Test("a truncated header waits for more bytes, and is an error at end of input", arguments: 1..<20)
    func truncatedHeader(bytes: Int) throws {
        let whole = try ByteBuffer.frames([.cancel(streamID: 1)])
        var partial = whole.getSlice(at: 0, length: bytes)!
        var decoder = FrameDecoder(expectPreface: false)
        #expect(try decoder.decodeFrame(buffer: &partial) == nil)
        #expect(decodingError { _ = try decoder.decodeLast(buffer: &partial, seenEOF: true) } == .truncatedFrame(bufferedBytes: bytes))
    }

    @Test("a truncated payload is an error at end of input")
    func truncatedPayload() {
        var input = ByteBuffer.rawFrame(payload: [1, 2, 3, 4])
        input.moveWriterIndex(to: input.writerIndex - 2)
        #expect(decodingError { _ = try decodeAll(input) } == .truncatedFrame(bufferedBytes: 22))
    }

    @Test("unknown frame types are refused", arguments: [UInt8(0x00), 0x0D, 0x7F, 0xFF])
    func unknownFrameType(type: UInt8) {
        #expect(decodingError { _ = try decodeAll(.rawFrame(type: type)) } == .unknownFrameType(type))
    }

    @Test("unknown versions are refused", arguments: [UInt8(0), 2, 255])
    func unknownVersion(version: UInt8) {
        #expect(decodingError { _ = try decodeAll(.rawFrame(version: version)) } == .unsupportedVersion(version))
    }

    @Test("unknown flag bits are ignored")
    func unknownFlags() throws {
        let frames = try decodeAll(.rawFrame(flags: 0xFFFF))
        #expect(frames.first?.flags.rawValue == 0xFFFF)
    }

    @Test("stream id rules per frame type")
    func streamIDRules() {
        #expect(decodingError { _ = try decodeAll(.rawFrame(streamID: 0)) } == .streamIDRequired(.request))
        #expect(
            decodingError { _ = try decodeAll(.rawFrame(type: FrameType.ping.rawValue, streamID: 3, payload: Array(repeating: 0, count: 8))) }
                == .streamIDNotAllowed(.ping, 3))
        #expect(decodingError { _ = try decodeAll(.rawFrame(service: 0, method: 4)) } == .methodRequired)
    }

    @Test("control payloads must have their fixed sizes")
    func controlPayloadSizes() {
        #expect(
            decodingError { _ = try decodeAll(.rawFrame(type: FrameType.ping.rawValue, streamID: 0, payload: [1, 2, 3])) }
                == .invalidPayloadSize(.ping, size: 3))
        #expect(
            decodingError { _ = try decodeAll(.rawFrame(type: FrameType.credit.rawValue, payload: [0, 0, 0, 0, 1])) }
                == .invalidPayloadSize(.credit, size: 5))
        #expect(
            decodingError { _ = try decodeAll(.rawFrame(type: FrameType.cancel.rawValue, payload: [0])) }
                == .invalidPayloadSize(.cancel, size: 1))
        #expect(
            decodingError { _ = try decodeAll(.rawFrame(type: FrameType.hello.rawValue, streamID: 0, payload: Array(repeating: 0, count: 23))) }
                == .invalidPayloadSize(.hello, size: 23))
        #expect(
            decodingError { _ = try decodeAll(.rawFrame(type: FrameType.goAway.rawValue, streamID: 0, payload: [0, 0, 0])) }
                == .invalidPayloadSize(.goAway, size: 3))
    }

    @Test("metadata longer than the frame is refused")
    func metadataOverrun() {
        #expect(
            decodingError { _ = try decodeAll(.rawFrame(metadataLength: 100, payload: [1, 2, 3])) }
                == .metadataOverrun(declared: 100, available: 3))
    }

    @Test("metadata above 16 KiB is refused")
    func metadataTooLarge() {
        let metadata = [UInt8](repeating: 0, count: WireFormat.maxMetadataSize + 4)
        #expect(
            decodingError { _ = try decodeAll(.rawFrame(metadata: metadata)) }
                == .metadataTooLarge(declared: UInt32(metadata.count)))
    }

    @Test("the payload is a slice of the input, not a copy")
    func payloadIsSlice() throws {
        let input = try ByteBuffer.frames([.response(streamID: 1, method: SystemMethods.echo.id, payload: ByteBuffer(bytes: [9, 9, 9]))])
        let frame = try #require(try decodeAll(input).first)
        let same = input.withUnsafeReadableBytes { whole in
            frame.payload.withUnsafeReadableBytes { payload in
                payload.baseAddress == whole.baseAddress! + (whole.count - 3)
            }
        }
        #expect(same)
    }

    @Test("decoding errors map to stable codes and reasons")
    func errorMapping() {
        let tooLarge = FrameDecodingError(.frameTooLarge(length: 99_999_999, maxFrameSize: 4_194_304)).rpcError
        #expect(tooLarge.code == .resourceExhausted)
        #expect(tooLarge.reason == "FRAME_TOO_LARGE")
        #expect(tooLarge.processing == .notProcessed)
        let version = FrameDecodingError(.unsupportedVersion(9)).rpcError
        #expect(version.code == .failedPrecondition)
        #expect(version.supportedVersions == 1...1)
        #expect(FrameDecodingError(.unknownFrameType(0x42)).rpcError.code == .invalidArgument)
    }

    @Test("the encoder refuses a frame larger than the peer accepts and writes nothing")
    func encoderRespectsPeerLimit() {
        let encoder = FrameEncoder(peerMaxFrameSize: FrameSizeLimit.minMaxFrameSize)
        var buffer = ByteBuffer()
        let frame = Frame.response(streamID: 1, method: SystemMethods.echo.id, payload: ByteBuffer(repeating: 0, count: FrameSizeLimit.minMaxFrameSize))
        #expect(throws: FrameEncodingError.self) { try encoder.encode(frame, into: &buffer) }
        #expect(buffer.readableBytes == 0)
    }
}
