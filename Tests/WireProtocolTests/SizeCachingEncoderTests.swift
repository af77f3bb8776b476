import Foundation
import NIOCore
import SwiftProtobuf
import Testing
@testable import WireProtocol
internal import CRMAPI

/// `encodedPayload()` sizes each nested message once (`SizeCachingEncoder`) instead of once per
/// level above it; SwiftProtobuf's own encoding is the reference, byte for byte.
@Suite("Size-caching protobuf encoder")
struct SizeCachingEncoderTests {
    static let seedsPerType: UInt64 = 12

    /// Our encoding of `message`, failing the test if the encoder handed it to SwiftProtobuf.
    private static func cachedEncoding<M: Message>(_ message: M) throws -> [UInt8] {
        let buffer = try #require(SizeCachingEncoder.encode(message), "\(M.protoMessageName) was left to SwiftProtobuf")
        return Array(buffer.readableBytesView)
    }

    private static func sameBytes<M: Message>(_ type: M.Type, seeds: Range<UInt64>) throws -> Int {
        var nonEmpty = 0
        for seed in seeds {
            let message = try RandomMessageFiller.message(type, seed: seed)
            let reference: [UInt8] = try message.serializedBytes()
            #expect(try cachedEncoding(message) == reference, "\(M.protoMessageName), seed \(seed)")
            #expect(try M(serializedBytes: try cachedEncoding(message)).isEqualTo(message: message), "\(M.protoMessageName), seed \(seed)")
            if !reference.isEmpty { nonEmpty += 1 }
        }
        return nonEmpty
    }

    @Test("every request and response of every method, randomly filled to four levels deep: the bytes SwiftProtobuf writes")
    func everyMethodsMessages() throws {
        var types: [any Message.Type] = []
        for method in MethodRegistry.all {
            types.append(method.requestType)
            types.append(method.responseType)
        }
        var nonEmpty = 0
        for type in types {
            nonEmpty += try Self.sameBytes(type, seeds: 0..<Self.seedsPerType)
        }
        // The filler did fill them: the comparison was not of empty messages.
        #expect(nonEmpty > types.count * Int(Self.seedsPerType) / 2)
    }

    @Test("a customer view, the deepest answer: random ones, and the encoder ran rather than SwiftProtobuf")
    func customerView() throws {
        _ = try Self.sameBytes(Crm_Customer_V1_GetCustomerViewResponse.self, seeds: 100..<400)
        let view = try RandomMessageFiller.message(Crm_Customer_V1_GetCustomerViewResponse.self, seed: 7)
        #expect(view.view.customer.profile != Crm_Customer_V1_CustomerProfile(), "the filler reaches the profile, three levels down")
        let payload = try view.encodedPayload()
        #expect(Array(payload.readableBytesView) == (try view.serializedBytes() as [UInt8]))
    }

    @Test("field kinds our protocol does not use: float, sint, fixed, sfixed, packed of each, unknown fields")
    func everyFieldKind() throws {
        for seed: UInt64 in 0..<200 {
            var message = try RandomMessageFiller.message(AllFieldKinds.self, seed: seed)
            message.unknownFields = try Self.unknownFields(seed: seed)
            let reference: [UInt8] = try message.serializedBytes()
            #expect(try Self.cachedEncoding(message) == reference, "seed \(seed)")
        }
    }

    @Test("well-known types, Any and its nested message bytes included; Struct's map goes to SwiftProtobuf, with the same bytes")
    func wellKnownTypes() throws {
        _ = try Self.sameBytes(Google_Protobuf_Type.self, seeds: 0..<50)
        _ = try Self.sameBytes(Google_Protobuf_Api.self, seeds: 0..<50)
        _ = try Self.sameBytes(Google_Protobuf_Any.self, seeds: 0..<50)
        _ = try Self.sameBytes(Google_Protobuf_Timestamp.self, seeds: 0..<20)
        _ = try Self.sameBytes(Google_Protobuf_FloatValue.self, seeds: 0..<20)

        var packed = Google_Protobuf_Any()
        packed.typeURL = "type.googleapis.com/crm.system.v1.EchoRequest"
        var echo = Crm_System_V1_EchoRequest()
        echo.payload = Data("hello".utf8)
        packed.value = try echo.serializedData()
        #expect(try Self.cachedEncoding(packed) == (try packed.serializedBytes() as [UInt8]))

        let structure = try Google_Protobuf_Struct(jsonString: #"{"name": "张三", "tags": [1, true, null, {"deep": "x"}]}"#)
        #expect(SizeCachingEncoder.encode(structure) == nil, "maps are left to SwiftProtobuf")
        #expect(Array(try structure.encodedPayload().readableBytesView) == (try structure.serializedBytes() as [UInt8]))
    }

    @Test("empty messages encode to no bytes")
    func emptyMessages() throws {
        #expect(try Self.cachedEncoding(Crm_Customer_V1_GetCustomerViewResponse()) == [])
        #expect(try Crm_System_V1_EchoRequest().encodedPayload().readableBytes == 0)
    }

    /// Unknown fields of every wire type, as a peer with a newer schema would send them.
    private static func unknownFields(seed: UInt64) throws -> UnknownStorage {
        var generator = SeededGenerator(seed: seed)
        var bytes: [UInt8] = []
        for _ in 0..<Int.random(in: 0...3, using: &generator) {
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: bytes += [0xC8, 0x3E, 0x96, 0x01]  // field 1001, varint 150
            case 1: bytes += [0xD1, 0x3E] + [UInt8](repeating: 7, count: 8)  // field 1002, fixed64
            case 2: bytes += [0xDA, 0x3E, 0x03, 0x61, 0x62, 0x63]  // field 1003, "abc"
            default: bytes += [0xE5, 0x3E, 1, 2, 3, 4]  // field 1004, fixed32
            }
        }
        var carrier = Crm_System_V1_EchoRequest()
        try carrier.merge(serializedBytes: bytes)
        return carrier.unknownFields
    }
}

/// A message with a field of every kind the generated code can visit (but maps, groups and
/// extensions), including the packed forms, written as protoc-gen-swift writes messages.
private struct AllFieldKinds: Message, _MessageImplementationBase, _ProtoNameProviding {
    static let protoMessageName = "crm.test.AllFieldKinds"
    static let _protobuf_nameMap = _NameMap()

    var unknownFields = UnknownStorage()
    var float: Float = 0, double: Double = 0
    var int32: Int32 = 0, int64: Int64 = 0, uint32: UInt32 = 0, uint64: UInt64 = 0
    var sint32: Int32 = 0, sint64: Int64 = 0, fixed32: UInt32 = 0, fixed64: UInt64 = 0
    var sfixed32: Int32 = 0, sfixed64: Int64 = 0, bool = false, string = "", bytes = Data()
    var enumValue: Crm_Customer_V1_Channel = .unspecified
    var child: Crm_System_V1_EchoRequest? = nil
    var floats: [Float] = [], doubles: [Double] = [], int32s: [Int32] = [], int64s: [Int64] = []
    var uint32s: [UInt32] = [], uint64s: [UInt64] = [], sint32s: [Int32] = [], sint64s: [Int64] = []
    var fixed32s: [UInt32] = [], fixed64s: [UInt64] = [], sfixed32s: [Int32] = [], sfixed64s: [Int64] = []
    var bools: [Bool] = [], enums: [Crm_Customer_V1_Channel] = []
    /// Unpacked repeated fields.
    var strings: [String] = [], unpackedInt32s: [Int32] = [], unpackedFixed64s: [UInt64] = [], children: [Crm_System_V1_EchoRequest] = []

    init() {}

    mutating func decodeMessage<D: SwiftProtobuf.Decoder>(decoder: inout D) throws {
        while let field = try decoder.nextFieldNumber() {
            switch field {
            case 1: try decoder.decodeSingularFloatField(value: &float)
            case 2: try decoder.decodeSingularDoubleField(value: &double)
            case 3: try decoder.decodeSingularInt32Field(value: &int32)
            case 4: try decoder.decodeSingularInt64Field(value: &int64)
            case 5: try decoder.decodeSingularUInt32Field(value: &uint32)
            case 6: try decoder.decodeSingularUInt64Field(value: &uint64)
            case 7: try decoder.decodeSingularSInt32Field(value: &sint32)
            case 8: try decoder.decodeSingularSInt64Field(value: &sint64)
            case 9: try decoder.decodeSingularFixed32Field(value: &fixed32)
            case 10: try decoder.decodeSingularFixed64Field(value: &fixed64)
            case 11: try decoder.decodeSingularSFixed32Field(value: &sfixed32)
            case 12: try decoder.decodeSingularSFixed64Field(value: &sfixed64)
            case 13: try decoder.decodeSingularBoolField(value: &bool)
            case 14: try decoder.decodeSingularStringField(value: &string)
            case 15: try decoder.decodeSingularBytesField(value: &bytes)
            case 16: try decoder.decodeSingularEnumField(value: &enumValue)
            case 17: try decoder.decodeSingularMessageField(value: &child)
            case 18: try decoder.decodeRepeatedFloatField(value: &floats)
            case 19: try decoder.decodeRepeatedDoubleField(value: &doubles)
            case 20: try decoder.decodeRepeatedInt32Field(value: &int32s)
            case 21: try decoder.decodeRepeatedInt64Field(value: &int64s)
            case 22: try decoder.decodeRepeatedUInt32Field(value: &uint32s)
            case 23: try decoder.decodeRepeatedUInt64Field(value: &uint64s)
            case 24: try decoder.decodeRepeatedSInt32Field(value: &sint32s)
            case 25: try decoder.decodeRepeatedSInt64Field(value: &sint64s)
            case 26: try decoder.decodeRepeatedFixed32Field(value: &fixed32s)
            case 27: try decoder.decodeRepeatedFixed64Field(value: &fixed64s)
            case 28: try decoder.decodeRepeatedSFixed32Field(value: &sfixed32s)
            case 29: try decoder.decodeRepeatedSFixed64Field(value: &sfixed64s)
            case 30: try decoder.decodeRepeatedBoolField(value: &bools)
            case 31: try decoder.decodeRepeatedEnumField(value: &enums)
            case 32: try decoder.decodeRepeatedStringField(value: &strings)
            default: break
            }
        }
        // The filler offers field numbers 1 to 32; the unpacked fields reuse its values.
        unpackedInt32s = int32s
        unpackedFixed64s = fixed64s
        if let child { children = [child, Crm_System_V1_EchoRequest(), child] }
    }

    func traverse<V: Visitor>(visitor: inout V) throws {
        if float != 0 { try visitor.visitSingularFloatField(value: float, fieldNumber: 1) }
        if double != 0 { try visitor.visitSingularDoubleField(value: double, fieldNumber: 2) }
        if int32 != 0 { try visitor.visitSingularInt32Field(value: int32, fieldNumber: 3) }
        if int64 != 0 { try visitor.visitSingularInt64Field(value: int64, fieldNumber: 4) }
        if uint32 != 0 { try visitor.visitSingularUInt32Field(value: uint32, fieldNumber: 5) }
        if uint64 != 0 { try visitor.visitSingularUInt64Field(value: uint64, fieldNumber: 6) }
        if sint32 != 0 { try visitor.visitSingularSInt32Field(value: sint32, fieldNumber: 7) }
        if sint64 != 0 { try visitor.visitSingularSInt64Field(value: sint64, fieldNumber: 8) }
        if fixed32 != 0 { try visitor.visitSingularFixed32Field(value: fixed32, fieldNumber: 9) }
        if fixed64 != 0 { try visitor.visitSingularFixed64Field(value: fixed64, fieldNumber: 10) }
        if sfixed32 != 0 { try visitor.visitSingularSFixed32Field(value: sfixed32, fieldNumber: 11) }
        if sfixed64 != 0 { try visitor.visitSingularSFixed64Field(value: sfixed64, fieldNumber: 12) }
        if bool { try visitor.visitSingularBoolField(value: bool, fieldNumber: 13) }
        if !string.isEmpty { try visitor.visitSingularStringField(value: string, fieldNumber: 14) }
        if !bytes.isEmpty { try visitor.visitSingularBytesField(value: bytes, fieldNumber: 15) }
        if enumValue != .unspecified { try visitor.visitSingularEnumField(value: enumValue, fieldNumber: 16) }
        if let child { try visitor.visitSingularMessageField(value: child, fieldNumber: 17) }
        if !floats.isEmpty { try visitor.visitPackedFloatField(value: floats, fieldNumber: 18) }
        if !doubles.isEmpty { try visitor.visitPackedDoubleField(value: doubles, fieldNumber: 19) }
        if !int32s.isEmpty { try visitor.visitPackedInt32Field(value: int32s, fieldNumber: 20) }
        if !int64s.isEmpty { try visitor.visitPackedInt64Field(value: int64s, fieldNumber: 21) }
        if !uint32s.isEmpty { try visitor.visitPackedUInt32Field(value: uint32s, fieldNumber: 22) }
        if !uint64s.isEmpty { try visitor.visitPackedUInt64Field(value: uint64s, fieldNumber: 23) }
        if !sint32s.isEmpty { try visitor.visitPackedSInt32Field(value: sint32s, fieldNumber: 24) }
        if !sint64s.isEmpty { try visitor.visitPackedSInt64Field(value: sint64s, fieldNumber: 25) }
        if !fixed32s.isEmpty { try visitor.visitPackedFixed32Field(value: fixed32s, fieldNumber: 26) }
        if !fixed64s.isEmpty { try visitor.visitPackedFixed64Field(value: fixed64s, fieldNumber: 27) }
        if !sfixed32s.isEmpty { try visitor.visitPackedSFixed32Field(value: sfixed32s, fieldNumber: 28) }
        if !sfixed64s.isEmpty { try visitor.visitPackedSFixed64Field(value: sfixed64s, fieldNumber: 29) }
        if !bools.isEmpty { try visitor.visitPackedBoolField(value: bools, fieldNumber: 30) }
        if !enums.isEmpty { try visitor.visitPackedEnumField(value: enums, fieldNumber: 31) }
        if !strings.isEmpty { try visitor.visitRepeatedStringField(value: strings, fieldNumber: 32) }
        if !unpackedInt32s.isEmpty { try visitor.visitRepeatedInt32Field(value: unpackedInt32s, fieldNumber: 33) }
        if !unpackedFixed64s.isEmpty { try visitor.visitRepeatedFixed64Field(value: unpackedFixed64s, fieldNumber: 34) }
        if !children.isEmpty { try visitor.visitRepeatedMessageField(value: children, fieldNumber: 35) }
        try unknownFields.traverse(visitor: &visitor)
    }

    static func == (lhs: AllFieldKinds, rhs: AllFieldKinds) -> Bool {
        lhs.float.bitPattern == rhs.float.bitPattern && lhs.double.bitPattern == rhs.double.bitPattern && lhs.int32 == rhs.int32
            && lhs.int64 == rhs.int64 && lhs.uint32 == rhs.uint32 && lhs.uint64 == rhs.uint64 && lhs.sint32 == rhs.sint32
            && lhs.sint64 == rhs.sint64 && lhs.fixed32 == rhs.fixed32 && lhs.fixed64 == rhs.fixed64 && lhs.sfixed32 == rhs.sfixed32
            && lhs.sfixed64 == rhs.sfixed64 && lhs.bool == rhs.bool && lhs.string == rhs.string && lhs.bytes == rhs.bytes
            && lhs.enumValue == rhs.enumValue && lhs.child == rhs.child && lhs.floats.map(\.bitPattern) == rhs.floats.map(\.bitPattern)
            && lhs.doubles.map(\.bitPattern) == rhs.doubles.map(\.bitPattern) && lhs.int32s == rhs.int32s && lhs.int64s == rhs.int64s
            && lhs.uint32s == rhs.uint32s && lhs.uint64s == rhs.uint64s && lhs.sint32s == rhs.sint32s && lhs.sint64s == rhs.sint64s
            && lhs.fixed32s == rhs.fixed32s && lhs.fixed64s == rhs.fixed64s && lhs.sfixed32s == rhs.sfixed32s
            && lhs.sfixed64s == rhs.sfixed64s && lhs.bools == rhs.bools && lhs.enums == rhs.enums && lhs.strings == rhs.strings
            && lhs.unpackedInt32s == rhs.unpackedInt32s && lhs.unpackedFixed64s == rhs.unpackedFixed64s && lhs.children == rhs.children
            && lhs.unknownFields == rhs.unknownFields
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(string)
        hasher.combine(int64)
    }
}
