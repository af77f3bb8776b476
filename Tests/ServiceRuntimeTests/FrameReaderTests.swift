import NIOCore
import NIOEmbedded
@testable import ServiceRuntime
import Testing
import WireProtocol

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

    func channel(expectPreface: Bool, maxFrameSize: Int = FrameSizeLimit.defaultMaxFrameSize) throws -> EmbeddedChannel {
        try EmbeddedChannel(handler: FrameReader(FrameDecoder(maxFrameSize: FrameSizeLimit(maxFrameSize), expectPreface: expectPreface)))
    }

    func readAll(_ channel: EmbeddedChannel) throws -> [Frame] {
        var frames: [Frame] = []
        while let frame = try channel.readInbound(as: Frame.self) { frames.append(frame) }
        return frames
    }

    @Test("frames arrive whole however the bytes are cut: one byte at a time, in random chunks, all at once", arguments: [1, 7, 0])
    func anyChunking(chunk: Int) throws {
        let sent = Self.frames(40)
        var bytes = try Self.bytes(sent, preface: true)
        let channel = try channel(expectPreface: true)
        var generator = SystemRandomNumberGenerator()
        while bytes.readableBytes > 0 {
            let size = chunk == 0 ? bytes.readableBytes : min(bytes.readableBytes, chunk == 1 ? 1 : Int.random(in: 1...(chunk * 100), using: &generator))
            try channel.writeInbound(bytes.readSlice(length: size)!)
        }
        #expect(try readAll(channel) == sent)
        #expect(try channel.finish().isClean)
    }

    @Test("a frame over the limit is refused once, as soon as its length arrives; what follows is dropped")
    func tooLarge() throws {
        let channel = try channel(expectPreface: false, maxFrameSize: 16_384)
        var big = try Self.bytes([Frame(type: .request, streamID: 1, payload: ByteBuffer(repeating: 1, count: 40_000))], preface: false)
        #expect(throws: FrameDecodingError.self) { try channel.writeInbound(big.readSlice(length: 4)!) }
        try channel.writeInbound(big)
        try channel.writeInbound(try Self.bytes(Self.frames(2), preface: false))
        #expect(try readAll(channel).isEmpty)
        _ = try channel.finish()
    }

    @Test("the connection ends inside a frame: truncatedFrame with the bytes it held")
    func truncatedAtEnd() throws {
        let channel = try channel(expectPreface: false)
        let whole = try Self.bytes(Self.frames(3), preface: false)
        try channel.writeInbound(whole.getSlice(at: 0, length: whole.readableBytes - 5)!)
        #expect(try readAll(channel).count == 2)
        let held = whole.readableBytes - 5 - (try Self.bytes(Self.frames(2), preface: false)).readableBytes
        do {
            _ = try channel.finish()
            Issue.record("the end inside a frame must be reported")
        } catch let error as FrameDecodingError {
            #expect(error.kind == .truncatedFrame(bufferedBytes: held))
        }
    }
}
