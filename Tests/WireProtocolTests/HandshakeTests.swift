import NIOCore
import Testing
@testable import WireProtocol
internal import CRMAPI

@Suite("Handshake")
struct HandshakeTests {
    @Test("the hello layout is frozen: 24 bytes in a fixed order")
    func frozenLayout() {
        let hello = Hello(
            minVersion: 1, maxVersion: 3, maxFrameSize: 0x0040_0000, maxConcurrentStreams: 0x400,
            minPingIntervalMilliseconds: 5000, features: .serverStreams)
        #expect(
            Array(hello.encodedPayload.readableBytesView) == [
                0x00, 0x01, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x13, 0x88,
                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
            ])
    }

    @Test("extensions after the fixed part are skipped")
    func extensionsSkipped() throws {
        var payload = Hello().encodedPayload
        payload.writeMultipleIntegers(UInt16(0x0101), UInt16(3))
        payload.writeBytes([1, 2, 3])
        #expect(try Hello(payload: payload) == Hello())
        payload.writeMultipleIntegers(UInt16(0x0102), UInt16(9))
        #expect(throws: FrameDecodingError.self) { try Hello(payload: payload) }
    }

    @Test("invalid hello values are refused")
    func invalidValues() {
        #expect(throws: FrameDecodingError.self) { try Hello(payload: Hello(minVersion: 3, maxVersion: 2).encodedPayload) }
        #expect(throws: FrameDecodingError.self) { try Hello(payload: Hello(minVersion: 0, maxVersion: 2).encodedPayload) }
        #expect(throws: FrameDecodingError.self) { try Hello(payload: Hello(maxFrameSize: 1000).encodedPayload) }
        #expect(throws: FrameDecodingError.self) { try Hello(payload: Hello(maxConcurrentStreams: 0).encodedPayload) }
    }

    @Test("negotiation picks the highest common version and the common features")
    func negotiation() throws {
        let client = Hello(minVersion: 1, maxVersion: 4, maxFrameSize: 65536, features: Hello.Features(rawValue: 0b111))
        let server = Hello(minVersion: 1, maxVersion: 2, maxConcurrentStreams: 100, features: .serverStreams)
        let (ack, parameters) = try Hello.negotiate(client: client, server: server).get()
        #expect(ack.minVersion == 2 && ack.maxVersion == 2)
        #expect(ack.features == .serverStreams)
        #expect(parameters.version == 2)
        #expect(parameters.peerMaxFrameSize == 65536)
        #expect(parameters.maxConcurrentStreams == 100)
        let accepted = try Hello.accept(ack: ack, sent: client).get()
        #expect(accepted.version == 2)
        #expect(accepted.maxConcurrentStreams == 100)
    }

    @Test("no common version: an error naming the server's supported range")
    func noCommonVersion() {
        let result = Hello.negotiate(client: Hello(minVersion: 5, maxVersion: 7), server: Hello(minVersion: 1, maxVersion: 1))
        guard case .failure(let error) = result else {
            Issue.record("negotiation should fail")
            return
        }
        #expect(error.code == .failedPrecondition)
        #expect(error.reason == "UNSUPPORTED_VERSION")
        #expect(error.supportedVersions == 1...1)
        // The range survives the trip through an ERROR frame.
        #expect((try? RPCError(payload: error.encodedPayload))?.supportedVersions == 1...1)
    }

    @Test("a client refuses an ack outside its range")
    func clientRefusesBadAck() {
        let result = Hello.accept(ack: Hello(minVersion: 9, maxVersion: 9), sent: Hello(minVersion: 1, maxVersion: 1))
        #expect((try? result.get()) == nil)
    }
}

@Suite("Errors")
struct ErrorModelTests {
    @Test("codes keep gRPC's numbers and names")
    func canonicalCodes() {
        #expect(ErrorCode.invalidArgument.rawValue == 3)
        #expect(ErrorCode.unauthenticated.rawValue == 16)
        #expect(ErrorCode.deadlineExceeded.description == "DEADLINE_EXCEEDED")
        #expect(ErrorCode(name: "ABORTED") == .aborted)
        #expect(ErrorCode(rawValue: 42).description == "CODE_42")
        for raw in UInt32(0)...16 {
            #expect(Crm_Wire_V1_ErrorCode(rawValue: Int(raw)) != nil, "proto enum lacks \(raw)")
        }
    }

    @Test("a status with every field round-trips; an unknown code is kept")
    func statusRoundTrip() throws {
        var error = RPCError(
            code: ErrorCode(rawValue: 77), message: "customer 42 was changed by someone else", reason: ErrorReason("STALE_VERSION"),
            processing: .notProcessed, fieldViolations: [.init(field: "name.family", description: "must not be empty")],
            retryAfterMilliseconds: 250, details: ["current_version": "8"])
        error.supportedVersions = 1...2
        #expect(try RPCError(payload: error.encodedPayload) == error)
    }

    @Test("a long message is cut so the error always fits in the smallest frame")
    func longMessageCut() throws {
        let error = RPCError(code: .internal, message: String(repeating: "张", count: 5000))
        let payload = error.encodedPayload
        #expect(payload.readableBytes < FrameSizeLimit.minMaxFrameSize - WireFormat.fixedHeaderSize)
        let decoded = try RPCError(payload: payload)
        #expect(decoded.message.utf8.count <= RPCError.maxMessageBytes)
    }

    @Test("a long GOAWAY message is cut between characters and still decodes")
    func longGoAwayMessage() throws {
        let goAway = GoAway(lastStreamID: 3, code: .unavailable, message: String(repeating: "停机维护", count: 200))
        let decoded = try GoAway(payload: goAway.encodedPayload)
        #expect(decoded.message.utf8.count <= GoAway.maxMessageSize)
        #expect(goAway.message.hasPrefix(decoded.message))
    }

    @Test("a payload that is not a Status is a typed error")
    func garbageStatus() {
        #expect(throws: FrameDecodingError.self) { try RPCError(payload: ByteBuffer(bytes: [0x0A, 0xFF])) }
    }
}

@Suite("Method registry")
struct MethodRegistryTests {
    @Test("ids and names are unique, names are Service.Method")
    func unique() {
        let all = MethodRegistry.all
        #expect(Set(all.map(\.id)).count == all.count)
        #expect(Set(all.map(\.name)).count == all.count)
        for method in all {
            #expect(method.name.split(separator: ".").count == 2, "\(method.name)")
            #expect(method.id.service != 0)
        }
    }

    @Test("lookup by id and by name")
    func lookup() throws {
        let echo = try #require(MethodRegistry.method(MethodID(service: 1, method: 1)))
        #expect(echo.name == "System.Echo")
        #expect(echo.isIdempotent)
        #expect(ObjectIdentifier(echo.requestType) == ObjectIdentifier(Crm_System_V1_EchoRequest.self))
        #expect(MethodRegistry.method(named: "System.Health")?.id == MethodID(service: 1, method: 2))
        #expect(MethodRegistry.method(MethodID(service: 9, method: 9)) == nil)
    }
}
