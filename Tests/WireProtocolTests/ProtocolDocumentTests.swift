import Foundation
import NIOCore
import Testing
@testable import WireProtocol
internal import CRMAPI

/// Keeps docs/PROTOCOL.md honest: every ```hexdump block is decoded with the real decoder and
/// compared field by field with the frames below, and those frames are encoded back to exactly the
/// bytes in the document.
@Suite("docs/PROTOCOL.md examples")
struct ProtocolDocumentTests {
    static let document = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/PROTOCOL.md")

    /// The bytes of each named hexdump block: the hex pairs before the `|` on each line.
    static func dumps() throws -> [String: [UInt8]] {
        let text = try String(contentsOf: document, encoding: .utf8)
        var result: [String: [UInt8]] = [:]
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```hexdump ") {
                current = String(line.dropFirst("```hexdump ".count))
                result[current!] = []
                continue
            }
            guard let name = current else { continue }
            if line.hasPrefix("```") {
                current = nil
                continue
            }
            if line.hasPrefix("#") { continue }  // a caption inside the block
            let bytesPart = line.split(separator: "|", maxSplits: 1).first ?? ""
            for token in bytesPart.split(separator: " ") {
                guard token.count == 2, let byte = UInt8(token, radix: 16) else {
                    Issue.record("hexdump \(name): '\(token)' is not a hex byte in line: \(line)")
                    continue
                }
                result[name]!.append(byte)
            }
        }
        return result
    }

    static func echoPayload(_ text: String) -> ByteBuffer {
        var message = Crm_System_V1_EchoRequest()
        message.payload = Data(text.utf8)
        return try! message.encodedPayload()
    }

    static func streamItem(index: UInt32) -> ByteBuffer {
        var item = Crm_System_V1_EchoStreamItem()
        item.payload = Data("hi".utf8)
        item.index = index
        return try! item.encodedPayload()
    }

    static var expected: [String: (preface: Bool, frames: [Frame])] {
        let echo = SystemMethods.echo.id
        let echoStream = SystemMethods.echoStream.id
        var streamRequest = Crm_System_V1_EchoStreamRequest()
        streamRequest.payload = Data("hi".utf8)
        streamRequest.count = 3
        var unsupported = RPCError(
            code: .failedPrecondition, message: "no common protocol version", reason: ErrorReason("UNSUPPORTED_VERSION"),
            processing: .notProcessed)
        unsupported.supportedVersions = 1...1
        return [
            "hello": (
                true,
                [.hello(Hello(minVersion: 1, maxVersion: 1, maxFrameSize: 4_194_304, maxConcurrentStreams: 100,
                              minPingIntervalMilliseconds: 5000, features: .serverStreams))]
            ),
            "hello-ack": (false, [.helloAck(Hello(maxConcurrentStreams: 1024))]),
            "request": (
                false,
                [.request(
                    streamID: 1, method: echo,
                    metadata: Metadata(
                        timeoutMilliseconds: 250, traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                        idempotencyKey: "c0ffee-01", attempt: 1),
                    payload: echoPayload("hi"))]
            ),
            "response": (false, [.response(streamID: 1, method: echo, payload: echoPayload("hi"))]),
            "error": (
                false,
                [.error(
                    streamID: 3, method: MethodID(service: 2, method: 1),
                    RPCError(
                        code: .invalidArgument, message: "email is not valid", reason: ErrorReason("INVALID_FIELD"), processing: .notProcessed,
                        fieldViolations: [.init(field: "email", description: "must be an address like name@bank.example")]))]
            ),
            "unsupported-version": (false, [.error(streamID: 0, unsupported)]),
            "server-stream": (
                false,
                [
                    .request(streamID: 5, method: echoStream, metadata: Metadata(initialCredit: 2), payload: try! streamRequest.encodedPayload()),
                    .streamItem(streamID: 5, method: echoStream, payload: streamItem(index: 0)),
                    .streamItem(streamID: 5, method: echoStream, payload: streamItem(index: 1)),
                    .credit(streamID: 5, items: 1),
                    .streamItem(streamID: 5, method: echoStream, payload: streamItem(index: 2)),
                    .streamEnd(streamID: 5, method: echoStream),
                ]
            ),
            "goaway": (false, [.goAway(GoAway(lastStreamID: 5, code: .ok, message: "server shutting down"))]),
            "ping": (false, [.ping(42)]),
        ]
    }

    @Test("the document has every example, and no unchecked ones")
    func allExamplesPresent() throws {
        #expect(Set(try Self.dumps().keys) == Set(Self.expected.keys))
    }

    @Test("each example decodes to the expected frames", arguments: Self.expected.keys.sorted())
    func decodes(name: String) throws {
        let bytes = try #require(try Self.dumps()[name], "no hexdump \(name) in docs/PROTOCOL.md")
        let (preface, frames) = Self.expected[name]!
        let decoded = try decodeAll(ByteBuffer(bytes: bytes), expectPreface: preface)
        #expect(decoded == frames)
        // Field by field, so a mismatch names what drifted.
        for (got, want) in zip(decoded, frames) {
            #expect(got.type == want.type)
            #expect(got.streamID == want.streamID)
            #expect(got.method == want.method)
            #expect(got.metadata == want.metadata)
            switch want.type {
            case .hello, .helloAck:
                #expect(try Hello(payload: got.payload) == Hello(payload: want.payload))
            case .error:
                #expect(try RPCError(payload: got.payload) == RPCError(payload: want.payload))
            case .goAway:
                #expect(try GoAway(payload: got.payload) == GoAway(payload: want.payload))
            default:
                #expect(got.payload == want.payload)
            }
        }
    }

    @Test("the expected frames encode to exactly the documented bytes", arguments: Self.expected.keys.sorted())
    func encodes(name: String) throws {
        let bytes = try #require(try Self.dumps()[name])
        let (preface, frames) = Self.expected[name]!
        let encoded = try ByteBuffer.frames(frames, preface: preface)
        #expect(Array(encoded.readableBytesView) == bytes)
    }
}
