import NIOCore
import Testing
@testable import WireProtocol

@Suite("Metadata")
struct MetadataTests {
    private func entry(_ tag: UInt16, _ value: [UInt8]) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeMultipleIntegers(tag, UInt16(value.count))
        buffer.writeBytes(value)
        return Array(buffer.readableBytesView)
    }

    private func decode(_ bytes: [UInt8]) throws -> Metadata {
        var buffer = ByteBuffer(bytes: bytes)
        return try Metadata.decode(from: &buffer)
    }

    @Test("every field round-trips")
    func roundTrip() throws {
        let metadata = Metadata(
            timeoutMilliseconds: 1500, traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            tracestate: "vendor=abc", idempotencyKey: "9f1c-create-customer", attempt: 2, callerSystem: "call-centre",
            callerRole: "servicing", endUser: "staff-00451", initialCredit: 64, masking: MaskingPolicy.restricted.encoded)
        var buffer = ByteBuffer()
        let written = metadata.encode(into: &buffer)
        #expect(written == metadata.encodedSize)
        #expect(try Metadata.decode(from: &buffer) == metadata)
    }

    @Test("unknown tags are skipped, wherever they appear")
    func unknownTagsSkipped() throws {
        let bytes =
            entry(0x0100, [1, 2, 3]) + entry(MetadataTag.timeoutMilliseconds, [0, 0, 0, 100]) + entry(0xFFFF, [])
            + entry(0x0010, Array("future".utf8)) + entry(0x0000, [9])
        let metadata = try decode(bytes)
        #expect(metadata == Metadata(timeoutMilliseconds: 100))
    }

    @Test("a frame with unknown metadata tags decodes, and the tags are gone when re-encoded")
    func unknownTagsInFrame() throws {
        let metadata = entry(0x4242, Array("from a newer peer".utf8)) + entry(MetadataTag.attempt, [0, 3])
        let frames = try decodeAll(.rawFrame(metadata: metadata, payload: [0x0A, 0x00]))
        #expect(frames.first?.metadata == Metadata(attempt: 3))
    }

    @Test("a known tag twice is malformed")
    func duplicateTag() {
        let bytes = entry(MetadataTag.attempt, [0, 1]) + entry(MetadataTag.attempt, [0, 2])
        #expect(decodingError { _ = try decode(bytes) } == .duplicateMetadataTag(MetadataTag.attempt))
    }

    @Test("fixed-size tags with the wrong size are malformed")
    func wrongFixedSize() {
        #expect(
            decodingError { _ = try decode(entry(MetadataTag.timeoutMilliseconds, [0, 1])) }
                == .malformedMetadata(tag: MetadataTag.timeoutMilliseconds, problem: "needs 4 bytes, got 2"))
        #expect(decodingError { _ = try decode(entry(MetadataTag.initialCredit, [])) } != nil)
    }

    @Test("string tags must be valid UTF-8 within their length limits")
    func stringRules() {
        #expect(
            decodingError { _ = try decode(entry(MetadataTag.callerSystem, [0xC3, 0x28])) }
                == .malformedMetadata(tag: MetadataTag.callerSystem, problem: "not valid UTF-8"))
        #expect(decodingError { _ = try decode(entry(MetadataTag.idempotencyKey, [])) } != nil)
        #expect(decodingError { _ = try decode(entry(MetadataTag.callerRole, Array(repeating: 0x61, count: 65))) } != nil)
        #expect(decodingError { _ = try decode(entry(MetadataTag.callerRole, Array(repeating: 0x61, count: 64))) } == nil)
        #expect((try? decode(entry(MetadataTag.endUser, Array("张三".utf8))))?.endUser == "张三")
    }

    @Test("an entry cut short is malformed")
    func cutShort() {
        #expect(decodingError { _ = try decode([0x00, 0x01, 0x00]) } != nil)
        #expect(
            decodingError { _ = try decode([0x00, 0x01, 0x00, 0x04, 0x00]) }
                == .malformedMetadata(tag: 1, problem: "length 4 runs past the metadata block"))
    }

    @Test("validateForSending catches what the receiver would refuse")
    func validateForSending() {
        #expect(throws: FrameDecodingError.self) {
            try Metadata(idempotencyKey: String(repeating: "k", count: 129)).validateForSending()
        }
        #expect(throws: Never.self) { try Metadata(idempotencyKey: "ok").validateForSending() }
    }

    @Test("removeCallerIdentity clears only the gateway-set fields")
    func removeCallerIdentity() {
        var metadata = Metadata(timeoutMilliseconds: 5, callerSystem: "spoofed", callerRole: "kyc", endUser: "x", masking: "name=clear")
        metadata.removeCallerIdentity()
        #expect(metadata == Metadata(timeoutMilliseconds: 5))
    }

    @Test("a masking policy names every field in order; parsing it back gives the same policy; a malformed one does not parse")
    func maskingPolicy() {
        #expect(MaskingPolicy.restricted.encoded == "name=partial,birth_date=withheld,document=partial,phone=partial,email=partial,address=withheld")
        for policy in [MaskingPolicy.restricted, .clear, MaskingPolicy([.email: .clear])] {
            #expect(MaskingPolicy(encoded: policy.encoded) == policy)
        }
        // Fields a value does not name are withheld.
        #expect(MaskingPolicy(encoded: "phone=clear") == MaskingPolicy([.phone: .clear]))
        #expect(MaskingPolicy(encoded: "phone=clear")?.treatment(of: .name) == .withheld)
        for malformed in ["", "phone", "phone=visible", "mail=clear", "phone=clear,phone=clear", "phone=clear,"] {
            #expect(MaskingPolicy(encoded: malformed) == nil, "\(malformed)")
        }
        #expect(MaskingPolicy.clear.isClear && !MaskingPolicy.restricted.showsSomeInClear)
        #expect(MaskingPolicy.builtIn(role: "kyc") == .clear && MaskingPolicy.builtIn(role: "reporting") == .restricted)
    }

    @Test("copies are values: a copy's string fields change without touching the original, and a cleared field equals one never set")
    func copiesAreValues() {
        let original = Metadata(traceparent: "t", callerSystem: "crm-gateway", callerRole: "servicing")
        var copy = original
        copy.callerRole = "reporting"
        copy.endUser = "staff-1"
        #expect(original.callerRole == "servicing" && original.endUser == nil)
        #expect(copy.callerRole == "reporting" && copy.endUser == "staff-1" && copy.callerSystem == "crm-gateway")
        #expect(copy != original)

        var emptied = Metadata()
        emptied.idempotencyKey = "k"
        let shared = emptied
        emptied.idempotencyKey = nil
        #expect(shared.idempotencyKey == "k")
        #expect(emptied == Metadata() && emptied.isEmpty)
        #expect(emptied.hashValue == Metadata().hashValue)
        #expect(Set([emptied, Metadata(), shared]).count == 2)
    }
}
