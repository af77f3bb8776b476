import NIOCore
@testable import WireProtocol

/// A small deterministic generator (SplitMix64) so property tests are reproducible from a seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension ByteBuffer {
    /// Encodes frames back to back, as a peer would send them.
    static func frames(_ frames: [Frame], preface: Bool = false) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        if preface { FrameEncoder.writePreface(into: &buffer) }
        let encoder = FrameEncoder(peerMaxFrameSize: FrameSizeLimit.hardMaxFrameSize)
        for frame in frames { try encoder.encode(frame, into: &buffer) }
        return buffer
    }

    /// A raw frame with the given header fields, metadata bytes and payload bytes, bypassing the
    /// encoder's checks: for feeding malformed input to the decoder.
    static func rawFrame(
        length: UInt32? = nil, version: UInt8 = 1, type: UInt8 = FrameType.request.rawValue, flags: UInt16 = 0,
        streamID: UInt32 = 1, service: UInt16 = 1, method: UInt16 = 1, metadataLength: UInt32? = nil,
        metadata: [UInt8] = [], payload: [UInt8] = []
    ) -> ByteBuffer {
        var buffer = ByteBuffer()
        let bodyLength = UInt32(WireFormat.fixedHeaderSize + metadata.count + payload.count)
        buffer.writeMultipleIntegers(
            length ?? bodyLength, version, type, flags, streamID, service, method, metadataLength ?? UInt32(metadata.count))
        buffer.writeBytes(metadata)
        buffer.writeBytes(payload)
        return buffer
    }
}

/// Decodes every frame in `buffer` with a fresh decoder.
func decodeAll(_ buffer: ByteBuffer, expectPreface: Bool = false, maxFrameSize: Int = FrameSizeLimit.defaultMaxFrameSize) throws -> [Frame] {
    var decoder = FrameDecoder(maxFrameSize: try FrameSizeLimit(maxFrameSize), expectPreface: expectPreface)
    var input = buffer
    var frames: [Frame] = []
    while let frame = try decoder.decodeFrame(buffer: &input) { frames.append(frame) }
    if let last = try decoder.decodeLast(buffer: &input, seenEOF: true) { frames.append(last) }
    return frames
}

/// The decoding error `body` throws, or nil.
func decodingError(_ body: () throws -> Void) -> FrameDecodingError.Kind? {
    do {
        try body()
        return nil
    } catch let error as FrameDecodingError {
        return error.kind
    } catch {
        return nil
    }
}
