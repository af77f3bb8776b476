import NIOCore
@testable import RPCTransport
@testable import ServiceRuntime
import Testing
import WireProtocol
internal import RPCTransport

/// `FrameReader` cuts the connection's bytes into frames, however the bytes arrive.
@Suite("Frame reader")
struct FrameReaderTests {
    static func frames(_ count: Int) -> [Frame] {
        (1...count).map { index in
            Frame(type: .request, streamID: UInt32(2 * index + 1), method: MethodID(service: 1, method: 1),
                  payload: ByteBuffer(repeating: UInt8(index % 251), count: index * 37 % 900))
        }
    }

    static func bytes(_ frames: [Frame], preface: Bool) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        if preface { FrameEncoder.writePreface(into: &buffer) }
        let encoder = FrameEncoder(peerMaxFrameSize: FrameSizeLimit.hardMaxFrameSize)
        for frame in frames { try encoder.encode(frame, into: &buffer) }
        return buffer
    }

    func reader(expectPreface: Bool, maxFrameSize: Int = FrameSizeLimit.defaultMaxFrameSize) throws -> FrameReader {
        FrameReader(FrameDecoder(maxFrameSize: try FrameSizeLimit(maxFrameSize), expectPreface: expectPreface))
    }

    /// Appends a read's bytes and takes every whole frame, as the connection handlers do.
    func read(_ bytes: ByteBuffer, into reader: inout FrameReader) throws(FrameDecodingError) -> [Frame] {
        reader.append(bytes)
        var frames: [Frame] = []
        while let frame = try reader.next() { frames.append(frame) }
        return frames
    }

    @Test("frames arrive whole however the bytes are cut: one byte at a time, in random chunks, all at once", arguments: [1, 7, 0])
    func anyChunking(chunk: Int) throws {
        let sent = Self.frames(40)
        var bytes = try Self.bytes(sent, preface: true)
        var reader = try reader(expectPreface: true)
        var generator = SystemRandomNumberGenerator()
        var received: [Frame] = []
        while bytes.readableBytes > 0 {
            let size = chunk == 0 ? bytes.readableBytes : min(bytes.readableBytes, chunk == 1 ? 1 : Int.random(in: 1...(chunk * 100), using: &generator))
            received += try read(bytes.readSlice(length: size)!, into: &reader)
        }
        #expect(received == sent)
        #expect(reader.endOfInput() == nil)
    }

    @Test("a frame over the limit is refused once, as soon as its length arrives; what follows is dropped")
    func tooLarge() throws {
        var reader = try reader(expectPreface: false, maxFrameSize: 16_384)
        var big = try Self.bytes([Frame(type: .request, streamID: 1, payload: ByteBuffer(repeating: 1, count: 40_000))], preface: false)
        #expect(throws: FrameDecodingError.self) { _ = try read(big.readSlice(length: 4)!, into: &reader) }
        #expect(try read(big, into: &reader).isEmpty)
        #expect(try read(try Self.bytes(Self.frames(2), preface: false), into: &reader).isEmpty)
        #expect(reader.endOfInput() == nil, "the refusal was the one report")
    }

    @Test("the connection ends inside a frame: truncatedFrame with the bytes it held")
    func truncatedAtEnd() throws {
        var reader = try reader(expectPreface: false)
        let whole = try Self.bytes(Self.frames(3), preface: false)
        #expect(try read(whole.getSlice(at: 0, length: whole.readableBytes - 5)!, into: &reader).count == 2)
        let held = whole.readableBytes - 5 - (try Self.bytes(Self.frames(2), preface: false)).readableBytes
        #expect(reader.endOfInput()?.kind == .truncatedFrame(bufferedBytes: held))
        #expect(reader.endOfInput() == nil, "reported once")
    }
}
