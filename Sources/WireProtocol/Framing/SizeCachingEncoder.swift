internal import Foundation
internal import NIOCore
internal import SwiftProtobuf

/// Protobuf binary encoding that works out each nested message's length once.
///
/// SwiftProtobuf's encoder asks every nested message for its size when it writes the message's
/// length prefix, and that size walks the whole subtree again: a message at depth d is sized d + 1
/// times. A customer view (response, view, customer, profile, its parts) spent about three quarters
/// of its encoding time on sizes (the history of docs/BENCHMARKS.md, "Nested messages sized once"). Here a first
/// walk records the sizes of all nested messages in the order it meets them, and a second walk
/// writes the bytes, taking each length from that list: two walks whatever the depth.
///
/// The bytes are those SwiftProtobuf writes (`SizeCachingEncoderTests` compares them). Groups, map
/// fields and extensions, which our protocol does not use, are left to SwiftProtobuf: ``encode(_:)``
/// returns nil for a message that has any.
enum SizeCachingEncoder {
    /// The message's binary encoding, or nil if SwiftProtobuf must encode it (a field kind this
    /// encoder leaves to it, a message missing required fields, or one over protobuf's 2 GiB).
    static func encode<M: Message>(_ message: M) -> ByteBuffer? {
        guard message.isInitialized else { return nil }
        var sizer = SizingVisitor()
        do {
            try message.traverse(visitor: &sizer)
        } catch {
            return nil
        }
        let total = sizer.size
        guard total < 0x7fff_ffff else { return nil }
        var buffer = ByteBufferAllocator().buffer(capacity: total)
        do {
            try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { memory in
                var writer = WritingVisitor(into: UnsafeMutableRawBufferPointer(rebasing: memory[..<total]), nestedSizes: sizer.nestedSizes)
                try message.traverse(visitor: &writer)
                guard writer.written == total else { throw Fallback() }
                return total
            }
        } catch {
            return nil
        }
        return buffer
    }

    /// Stops a walk: SwiftProtobuf encodes this message instead.
    struct Fallback: Error {}
}

// MARK: Wire format

private enum WireType: UInt32 {
    case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
}

@inline(__always)
private func varintSize(_ value: UInt64) -> Int {
    // The branchless form SwiftProtobuf and protobuf's C++ use.
    ((UInt64.bitWidth &* 9 &+ 64) &- (value.leadingZeroBitCount &* 9)) / 64
}

@inline(__always)
private func tagSize(_ fieldNumber: Int, _ type: WireType) -> Int {
    varintSize(UInt64(UInt32(truncatingIfNeeded: fieldNumber) << 3 | type.rawValue))
}

@inline(__always)
private func zigZag(_ value: Int64) -> UInt64 {
    UInt64(bitPattern: (value << 1) ^ (value >> 63))
}

// MARK: Kinds left to SwiftProtobuf

/// Groups, maps and extensions stop either walk: SwiftProtobuf encodes such a message.
private protocol LeavesUnusedKindsToSwiftProtobuf: Visitor {}

extension LeavesUnusedKindsToSwiftProtobuf {
    mutating func visitSingularGroupField<G: Message>(value: G, fieldNumber: Int) throws { throw SizeCachingEncoder.Fallback() }
    mutating func visitMapField<KeyType, ValueType: MapValueType>(
        fieldType: _ProtobufMap<KeyType, ValueType>.Type, value: _ProtobufMap<KeyType, ValueType>.BaseType, fieldNumber: Int
    ) throws { throw SizeCachingEncoder.Fallback() }
    mutating func visitMapField<KeyType, ValueType>(
        fieldType: _ProtobufEnumMap<KeyType, ValueType>.Type, value: _ProtobufEnumMap<KeyType, ValueType>.BaseType, fieldNumber: Int
    ) throws where ValueType.RawValue == Int { throw SizeCachingEncoder.Fallback() }
    mutating func visitMapField<KeyType, ValueType>(
        fieldType: _ProtobufMessageMap<KeyType, ValueType>.Type, value: _ProtobufMessageMap<KeyType, ValueType>.BaseType,
        fieldNumber: Int
    ) throws { throw SizeCachingEncoder.Fallback() }
    mutating func visitExtensionFields(fields: ExtensionFieldValueSet, start: Int, end: Int) throws {
        throw SizeCachingEncoder.Fallback()
    }
    mutating func visitExtensionFieldsAsMessageSet(fields: ExtensionFieldValueSet, start: Int, end: Int) throws {
        throw SizeCachingEncoder.Fallback()
    }
}

// MARK: First walk: sizes

/// Adds up the message's size and records every nested message's size, in the order met.
private struct SizingVisitor: LeavesUnusedKindsToSwiftProtobuf {
    var size = 0
    var nestedSizes: [Int] = []

    mutating func visitUnknown(bytes: Data) throws { size += bytes.count }

    mutating func visitSingularFloatField(value: Float, fieldNumber: Int) throws { size += tagSize(fieldNumber, .fixed32) + 4 }
    mutating func visitSingularDoubleField(value: Double, fieldNumber: Int) throws { size += tagSize(fieldNumber, .fixed64) + 8 }
    mutating func visitSingularInt32Field(value: Int32, fieldNumber: Int) throws {
        size += tagSize(fieldNumber, .varint) + varintSize(UInt64(bitPattern: Int64(value)))
    }
    mutating func visitSingularInt64Field(value: Int64, fieldNumber: Int) throws {
        size += tagSize(fieldNumber, .varint) + varintSize(UInt64(bitPattern: value))
    }
    mutating func visitSingularUInt32Field(value: UInt32, fieldNumber: Int) throws {
        size += tagSize(fieldNumber, .varint) + varintSize(UInt64(value))
    }
    mutating func visitSingularUInt64Field(value: UInt64, fieldNumber: Int) throws {
        size += tagSize(fieldNumber, .varint) + varintSize(value)
    }
    mutating func visitSingularSInt32Field(value: Int32, fieldNumber: Int) throws {
        size += tagSize(fieldNumber, .varint) + varintSize(zigZag(Int64(value)))
    }
    mutating func visitSingularSInt64Field(value: Int64, fieldNumber: Int) throws {
        size += tagSize(fieldNumber, .varint) + varintSize(zigZag(value))
    }
    mutating func visitSingularFixed32Field(value: UInt32, fieldNumber: Int) throws { size += tagSize(fieldNumber, .fixed32) + 4 }
    mutating func visitSingularFixed64Field(value: UInt64, fieldNumber: Int) throws { size += tagSize(fieldNumber, .fixed64) + 8 }
    mutating func visitSingularSFixed32Field(value: Int32, fieldNumber: Int) throws { size += tagSize(fieldNumber, .fixed32) + 4 }
    mutating func visitSingularSFixed64Field(value: Int64, fieldNumber: Int) throws { size += tagSize(fieldNumber, .fixed64) + 8 }
    mutating func visitSingularBoolField(value: Bool, fieldNumber: Int) throws { size += tagSize(fieldNumber, .varint) + 1 }
    mutating func visitSingularStringField(value: String, fieldNumber: Int) throws {
        let count = value.utf8.count
        size += tagSize(fieldNumber, .lengthDelimited) + varintSize(UInt64(count)) + count
    }
    mutating func visitSingularBytesField(value: Data, fieldNumber: Int) throws {
        size += tagSize(fieldNumber, .lengthDelimited) + varintSize(UInt64(value.count)) + value.count
    }
    mutating func visitSingularEnumField<E: Enum>(value: E, fieldNumber: Int) throws {
        size += tagSize(fieldNumber, .varint) + varintSize(UInt64(bitPattern: Int64(value.rawValue)))
    }

    mutating func visitSingularMessageField<M: Message>(value: M, fieldNumber: Int) throws {
        let slot = nestedSizes.count
        nestedSizes.append(0)
        let outer = size
        size = 0
        try value.traverse(visitor: &self)
        let inner = size
        nestedSizes[slot] = inner
        size = outer + tagSize(fieldNumber, .lengthDelimited) + varintSize(UInt64(inner)) + inner
    }

    // Repeated (unpacked) fields: Visitor's defaults visit each element as a singular field.

    mutating func visitPackedFloatField(value: [Float], fieldNumber: Int) throws { packed(fieldNumber, value.count * 4) }
    mutating func visitPackedDoubleField(value: [Double], fieldNumber: Int) throws { packed(fieldNumber, value.count * 8) }
    mutating func visitPackedInt32Field(value: [Int32], fieldNumber: Int) throws {
        packed(fieldNumber, value.reduce(0) { $0 + varintSize(UInt64(bitPattern: Int64($1))) })
    }
    mutating func visitPackedInt64Field(value: [Int64], fieldNumber: Int) throws {
        packed(fieldNumber, value.reduce(0) { $0 + varintSize(UInt64(bitPattern: $1)) })
    }
    mutating func visitPackedUInt32Field(value: [UInt32], fieldNumber: Int) throws {
        packed(fieldNumber, value.reduce(0) { $0 + varintSize(UInt64($1)) })
    }
    mutating func visitPackedUInt64Field(value: [UInt64], fieldNumber: Int) throws {
        packed(fieldNumber, value.reduce(0) { $0 + varintSize($1) })
    }
    mutating func visitPackedSInt32Field(value: [Int32], fieldNumber: Int) throws {
        packed(fieldNumber, value.reduce(0) { $0 + varintSize(zigZag(Int64($1))) })
    }
    mutating func visitPackedSInt64Field(value: [Int64], fieldNumber: Int) throws {
        packed(fieldNumber, value.reduce(0) { $0 + varintSize(zigZag($1)) })
    }
    mutating func visitPackedFixed32Field(value: [UInt32], fieldNumber: Int) throws { packed(fieldNumber, value.count * 4) }
    mutating func visitPackedFixed64Field(value: [UInt64], fieldNumber: Int) throws { packed(fieldNumber, value.count * 8) }
    mutating func visitPackedSFixed32Field(value: [Int32], fieldNumber: Int) throws { packed(fieldNumber, value.count * 4) }
    mutating func visitPackedSFixed64Field(value: [Int64], fieldNumber: Int) throws { packed(fieldNumber, value.count * 8) }
    mutating func visitPackedBoolField(value: [Bool], fieldNumber: Int) throws { packed(fieldNumber, value.count) }
    mutating func visitPackedEnumField<E: Enum>(value: [E], fieldNumber: Int) throws {
        packed(fieldNumber, value.reduce(0) { $0 + varintSize(UInt64(bitPattern: Int64($1.rawValue))) })
    }

    private mutating func packed(_ fieldNumber: Int, _ bytes: Int) {
        size += tagSize(fieldNumber, .lengthDelimited) + varintSize(UInt64(bytes)) + bytes
    }
}

// MARK: Second walk: bytes

/// Writes the message into memory of exactly the first walk's size, taking nested messages'
/// lengths from the first walk. It never writes past that memory: a walk that would (only if the
/// message changed between the walks) stops with ``SizeCachingEncoder/Fallback``.
private struct WritingVisitor: LeavesUnusedKindsToSwiftProtobuf {
    private let memory: UnsafeMutableRawBufferPointer
    private(set) var written = 0
    private let nestedSizes: [Int]
    private var nextNested = 0

    init(into memory: UnsafeMutableRawBufferPointer, nestedSizes: [Int]) {
        self.memory = memory
        self.nestedSizes = nestedSizes
    }

    // MARK: Primitives

    @inline(__always)
    private mutating func reserve(_ count: Int) throws {
        guard memory.count - written >= count else { throw SizeCachingEncoder.Fallback() }
    }

    private mutating func putVarint(_ value: UInt64) throws {
        try reserve(varintSize(value))
        var rest = value
        while rest > 127 {
            memory[written] = UInt8(truncatingIfNeeded: rest) & 0x7f | 0x80
            written += 1
            rest >>= 7
        }
        memory[written] = UInt8(rest)
        written += 1
    }

    private mutating func putTag(_ fieldNumber: Int, _ type: WireType) throws {
        try putVarint(UInt64(UInt32(truncatingIfNeeded: fieldNumber) << 3 | type.rawValue))
    }

    private mutating func putFixed32(_ value: UInt32) throws {
        try reserve(4)
        memory.storeBytes(of: value.littleEndian, toByteOffset: written, as: UInt32.self)
        written += 4
    }

    private mutating func putFixed64(_ value: UInt64) throws {
        try reserve(8)
        memory.storeBytes(of: value.littleEndian, toByteOffset: written, as: UInt64.self)
        written += 8
    }

    private mutating func putBytes(_ bytes: UnsafeRawBufferPointer) throws {
        try reserve(bytes.count)
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        memory.baseAddress!.advanced(by: written).copyMemory(from: source, byteCount: bytes.count)
        written += bytes.count
    }

    private mutating func putLengthDelimited(_ value: String) throws {
        var value = value
        try value.withUTF8 { utf8 in
            try putVarint(UInt64(utf8.count))
            try putBytes(UnsafeRawBufferPointer(utf8))
        }
    }

    private mutating func putLengthDelimited(_ value: Data) throws {
        try putVarint(UInt64(value.count))
        try value.withUnsafeBytes { try putBytes($0) }
    }

    // MARK: Fields

    mutating func visitUnknown(bytes: Data) throws { try bytes.withUnsafeBytes { try putBytes($0) } }

    mutating func visitSingularFloatField(value: Float, fieldNumber: Int) throws {
        try putTag(fieldNumber, .fixed32)
        try putFixed32(value.bitPattern)
    }
    mutating func visitSingularDoubleField(value: Double, fieldNumber: Int) throws {
        try putTag(fieldNumber, .fixed64)
        try putFixed64(value.bitPattern)
    }
    mutating func visitSingularInt32Field(value: Int32, fieldNumber: Int) throws {
        try visitSingularUInt64Field(value: UInt64(bitPattern: Int64(value)), fieldNumber: fieldNumber)
    }
    mutating func visitSingularInt64Field(value: Int64, fieldNumber: Int) throws {
        try visitSingularUInt64Field(value: UInt64(bitPattern: value), fieldNumber: fieldNumber)
    }
    mutating func visitSingularUInt32Field(value: UInt32, fieldNumber: Int) throws {
        try visitSingularUInt64Field(value: UInt64(value), fieldNumber: fieldNumber)
    }
    mutating func visitSingularUInt64Field(value: UInt64, fieldNumber: Int) throws {
        try putTag(fieldNumber, .varint)
        try putVarint(value)
    }
    mutating func visitSingularSInt32Field(value: Int32, fieldNumber: Int) throws {
        try visitSingularUInt64Field(value: zigZag(Int64(value)), fieldNumber: fieldNumber)
    }
    mutating func visitSingularSInt64Field(value: Int64, fieldNumber: Int) throws {
        try visitSingularUInt64Field(value: zigZag(value), fieldNumber: fieldNumber)
    }
    mutating func visitSingularFixed32Field(value: UInt32, fieldNumber: Int) throws {
        try putTag(fieldNumber, .fixed32)
        try putFixed32(value)
    }
    mutating func visitSingularFixed64Field(value: UInt64, fieldNumber: Int) throws {
        try putTag(fieldNumber, .fixed64)
        try putFixed64(value)
    }
    mutating func visitSingularSFixed32Field(value: Int32, fieldNumber: Int) throws {
        try visitSingularFixed32Field(value: UInt32(bitPattern: value), fieldNumber: fieldNumber)
    }
    mutating func visitSingularSFixed64Field(value: Int64, fieldNumber: Int) throws {
        try visitSingularFixed64Field(value: UInt64(bitPattern: value), fieldNumber: fieldNumber)
    }
    mutating func visitSingularBoolField(value: Bool, fieldNumber: Int) throws {
        try visitSingularUInt64Field(value: value ? 1 : 0, fieldNumber: fieldNumber)
    }
    mutating func visitSingularStringField(value: String, fieldNumber: Int) throws {
        try putTag(fieldNumber, .lengthDelimited)
        try putLengthDelimited(value)
    }
    mutating func visitSingularBytesField(value: Data, fieldNumber: Int) throws {
        try putTag(fieldNumber, .lengthDelimited)
        try putLengthDelimited(value)
    }
    mutating func visitSingularEnumField<E: Enum>(value: E, fieldNumber: Int) throws {
        try visitSingularUInt64Field(value: UInt64(bitPattern: Int64(value.rawValue)), fieldNumber: fieldNumber)
    }

    mutating func visitSingularMessageField<M: Message>(value: M, fieldNumber: Int) throws {
        guard nextNested < nestedSizes.count else { throw SizeCachingEncoder.Fallback() }
        let length = nestedSizes[nextNested]
        nextNested += 1
        try putTag(fieldNumber, .lengthDelimited)
        try putVarint(UInt64(length))
        let start = written
        try value.traverse(visitor: &self)
        guard written - start == length else { throw SizeCachingEncoder.Fallback() }
    }

    // Packed fields: the first walk's arithmetic again for the length, then the values.

    mutating func visitPackedFloatField(value: [Float], fieldNumber: Int) throws {
        try startPacked(fieldNumber, value.count * 4)
        for element in value { try putFixed32(element.bitPattern) }
    }
    mutating func visitPackedDoubleField(value: [Double], fieldNumber: Int) throws {
        try startPacked(fieldNumber, value.count * 8)
        for element in value { try putFixed64(element.bitPattern) }
    }
    mutating func visitPackedInt32Field(value: [Int32], fieldNumber: Int) throws {
        try packedVarints(fieldNumber, value.map { UInt64(bitPattern: Int64($0)) })
    }
    mutating func visitPackedInt64Field(value: [Int64], fieldNumber: Int) throws {
        try packedVarints(fieldNumber, value.map { UInt64(bitPattern: $0) })
    }
    mutating func visitPackedUInt32Field(value: [UInt32], fieldNumber: Int) throws {
        try packedVarints(fieldNumber, value.map { UInt64($0) })
    }
    mutating func visitPackedUInt64Field(value: [UInt64], fieldNumber: Int) throws {
        try packedVarints(fieldNumber, value)
    }
    mutating func visitPackedSInt32Field(value: [Int32], fieldNumber: Int) throws {
        try packedVarints(fieldNumber, value.map { zigZag(Int64($0)) })
    }
    mutating func visitPackedSInt64Field(value: [Int64], fieldNumber: Int) throws {
        try packedVarints(fieldNumber, value.map { zigZag($0) })
    }
    mutating func visitPackedFixed32Field(value: [UInt32], fieldNumber: Int) throws {
        try startPacked(fieldNumber, value.count * 4)
        for element in value { try putFixed32(element) }
    }
    mutating func visitPackedFixed64Field(value: [UInt64], fieldNumber: Int) throws {
        try startPacked(fieldNumber, value.count * 8)
        for element in value { try putFixed64(element) }
    }
    mutating func visitPackedSFixed32Field(value: [Int32], fieldNumber: Int) throws {
        try startPacked(fieldNumber, value.count * 4)
        for element in value { try putFixed32(UInt32(bitPattern: element)) }
    }
    mutating func visitPackedSFixed64Field(value: [Int64], fieldNumber: Int) throws {
        try startPacked(fieldNumber, value.count * 8)
        for element in value { try putFixed64(UInt64(bitPattern: element)) }
    }
    mutating func visitPackedBoolField(value: [Bool], fieldNumber: Int) throws {
        try packedVarints(fieldNumber, value.map { $0 ? 1 : 0 })
    }
    mutating func visitPackedEnumField<E: Enum>(value: [E], fieldNumber: Int) throws {
        try packedVarints(fieldNumber, value.map { UInt64(bitPattern: Int64($0.rawValue)) })
    }

    private mutating func startPacked(_ fieldNumber: Int, _ bytes: Int) throws {
        try putTag(fieldNumber, .lengthDelimited)
        try putVarint(UInt64(bytes))
    }

    private mutating func packedVarints(_ fieldNumber: Int, _ values: [UInt64]) throws {
        try startPacked(fieldNumber, values.reduce(0) { $0 + varintSize($1) })
        for value in values { try putVarint(value) }
    }
}
