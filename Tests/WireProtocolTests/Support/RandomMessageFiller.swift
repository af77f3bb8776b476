import Foundation
import SwiftProtobuf

/// Fills any generated message with random values, nested messages and repeated fields included,
/// by acting as the SwiftProtobuf `Decoder` its `decodeMessage(decoder:)` asks for each field: the
/// message itself says which kind each field is. Field numbers 1 to ``highestFieldNumber`` are
/// offered; a message ignores those it does not have. Maps and extensions stay empty.
struct RandomMessageFiller: SwiftProtobuf.Decoder {
    /// Above every field number in Protos/ (25 today).
    static let highestFieldNumber = 32
    static let maximumDepth = 4

    /// Shared by the fillers of one message tree, so that a seed makes the same tree every time.
    final class Source {
        var generator: SeededGenerator
        init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

        func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &generator) < percent }
        func count() -> Int { [0, 1, 1, 2, 3].randomElement(using: &generator)! }

        /// Small, one-byte-varint, multi-byte and extreme values, negative ones too.
        func integer<T: FixedWidthInteger>(_: T.Type = T.self) -> T {
            switch Int.random(in: 0..<6, using: &generator) {
            case 0: return 0
            case 1: return T(truncatingIfNeeded: Int.random(in: 1...127, using: &generator))
            case 2: return T(truncatingIfNeeded: Int.random(in: 128...1_000_000, using: &generator))
            case 3: return T.max
            case 4: return T.min
            default: return T.random(in: T.min...T.max, using: &generator)
            }
        }

        func double() -> Double { [0, -0.0, 1.5, -2.25e300, .infinity, .pi, Double(integer(Int32.self))].randomElement(using: &generator)! }
        func float() -> Float { Float(double()) }

        func string() -> String {
            let pieces = ["", "a", "Zhang San", "张三", "😀", "é", String(repeating: "x", count: 200), "\u{0}", "line\nbreak"]
            return (0..<Int.random(in: 0...3, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
        }

        func bytes() -> Data { Data((0..<[0, 1, 5, 300].randomElement(using: &generator)!).map { _ in UInt8.random(in: 0...255, using: &generator) }) }

        /// Known values and unknown ones (kept as UNRECOGNIZED), negative too.
        func enumRawValue() -> Int { [0, 1, 2, 3, 4, 5, 42, -1, Int(Int32.max)].randomElement(using: &generator)! }
    }

    private let source: Source
    private let depth: Int
    private var nextField = 0

    init(source: Source, depth: Int = 0) {
        self.source = source
        self.depth = depth
    }

    /// A message of type `M` filled from `seed`.
    static func message<M: Message>(_ type: M.Type, seed: UInt64) throws -> M {
        var message = M()
        var filler = RandomMessageFiller(source: Source(seed: seed))
        try message.decodeMessage(decoder: &filler)
        return message
    }

    mutating func handleConflictingOneOf() throws {}

    mutating func nextFieldNumber() throws -> Int? {
        // Most fields set, some left at their default (not encoded).
        while nextField < Self.highestFieldNumber {
            nextField += 1
            if source.chance(80) { return nextField }
        }
        return nil
    }

    // MARK: Scalars

    private func repeated<T>(_ make: () -> T) -> [T] { (0..<source.count()).map { _ in make() } }

    mutating func decodeSingularFloatField(value: inout Float) throws { value = source.float() }
    mutating func decodeSingularFloatField(value: inout Float?) throws { value = source.float() }
    mutating func decodeRepeatedFloatField(value: inout [Float]) throws { value = repeated(source.float) }
    mutating func decodeSingularDoubleField(value: inout Double) throws { value = source.double() }
    mutating func decodeSingularDoubleField(value: inout Double?) throws { value = source.double() }
    mutating func decodeRepeatedDoubleField(value: inout [Double]) throws { value = repeated(source.double) }
    mutating func decodeSingularInt32Field(value: inout Int32) throws { value = source.integer() }
    mutating func decodeSingularInt32Field(value: inout Int32?) throws { value = source.integer() }
    mutating func decodeRepeatedInt32Field(value: inout [Int32]) throws { value = repeated { source.integer() } }
    mutating func decodeSingularInt64Field(value: inout Int64) throws { value = source.integer() }
    mutating func decodeSingularInt64Field(value: inout Int64?) throws { value = source.integer() }
    mutating func decodeRepeatedInt64Field(value: inout [Int64]) throws { value = repeated { source.integer() } }
    mutating func decodeSingularUInt32Field(value: inout UInt32) throws { value = source.integer() }
    mutating func decodeSingularUInt32Field(value: inout UInt32?) throws { value = source.integer() }
    mutating func decodeRepeatedUInt32Field(value: inout [UInt32]) throws { value = repeated { source.integer() } }
    mutating func decodeSingularUInt64Field(value: inout UInt64) throws { value = source.integer() }
    mutating func decodeSingularUInt64Field(value: inout UInt64?) throws { value = source.integer() }
    mutating func decodeRepeatedUInt64Field(value: inout [UInt64]) throws { value = repeated { source.integer() } }
    mutating func decodeSingularSInt32Field(value: inout Int32) throws { value = source.integer() }
    mutating func decodeSingularSInt32Field(value: inout Int32?) throws { value = source.integer() }
    mutating func decodeRepeatedSInt32Field(value: inout [Int32]) throws { value = repeated { source.integer() } }
    mutating func decodeSingularSInt64Field(value: inout Int64) throws { value = source.integer() }
    mutating func decodeSingularSInt64Field(value: inout Int64?) throws { value = source.integer() }
    mutating func decodeRepeatedSInt64Field(value: inout [Int64]) throws { value = repeated { source.integer() } }
    mutating func decodeSingularFixed32Field(value: inout UInt32) throws { value = source.integer() }
    mutating func decodeSingularFixed32Field(value: inout UInt32?) throws { value = source.integer() }
    mutating func decodeRepeatedFixed32Field(value: inout [UInt32]) throws { value = repeated { source.integer() } }
    mutating func decodeSingularFixed64Field(value: inout UInt64) throws { value = source.integer() }
    mutating func decodeSingularFixed64Field(value: inout UInt64?) throws { value = source.integer() }
    mutating func decodeRepeatedFixed64Field(value: inout [UInt64]) throws { value = repeated { source.integer() } }
    mutating func decodeSingularSFixed32Field(value: inout Int32) throws { value = source.integer() }
    mutating func decodeSingularSFixed32Field(value: inout Int32?) throws { value = source.integer() }
    mutating func decodeRepeatedSFixed32Field(value: inout [Int32]) throws { value = repeated { source.integer() } }
    mutating func decodeSingularSFixed64Field(value: inout Int64) throws { value = source.integer() }
    mutating func decodeSingularSFixed64Field(value: inout Int64?) throws { value = source.integer() }
    mutating func decodeRepeatedSFixed64Field(value: inout [Int64]) throws { value = repeated { source.integer() } }
    mutating func decodeSingularBoolField(value: inout Bool) throws { value = source.chance(50) }
    mutating func decodeSingularBoolField(value: inout Bool?) throws { value = source.chance(50) }
    mutating func decodeRepeatedBoolField(value: inout [Bool]) throws { value = repeated { source.chance(50) } }
    mutating func decodeSingularStringField(value: inout String) throws { value = source.string() }
    mutating func decodeSingularStringField(value: inout String?) throws { value = source.string() }
    mutating func decodeRepeatedStringField(value: inout [String]) throws { value = repeated(source.string) }
    mutating func decodeSingularBytesField(value: inout Data) throws { value = source.bytes() }
    mutating func decodeSingularBytesField(value: inout Data?) throws { value = source.bytes() }
    mutating func decodeRepeatedBytesField(value: inout [Data]) throws { value = repeated(source.bytes) }

    mutating func decodeSingularEnumField<E: Enum>(value: inout E) throws where E.RawValue == Int {
        value = E(rawValue: source.enumRawValue()) ?? value
    }
    mutating func decodeSingularEnumField<E: Enum>(value: inout E?) throws where E.RawValue == Int {
        value = E(rawValue: source.enumRawValue())
    }
    mutating func decodeRepeatedEnumField<E: Enum>(value: inout [E]) throws where E.RawValue == Int {
        value = repeated { E(rawValue: source.enumRawValue()) }.compactMap { $0 }
    }

    // MARK: Messages

    private func filled<M: Message>(_ existing: M? = nil) throws -> M {
        var message = existing ?? M()
        var nested = RandomMessageFiller(source: source, depth: depth + 1)
        try message.decodeMessage(decoder: &nested)
        return message
    }

    mutating func decodeSingularMessageField<M: Message>(value: inout M?) throws {
        guard depth < Self.maximumDepth else { return }
        value = try filled(value)
    }
    mutating func decodeRepeatedMessageField<M: Message>(value: inout [M]) throws {
        guard depth < Self.maximumDepth else { return }
        for _ in 0..<source.count() { value.append(try filled()) }
    }
    mutating func decodeSingularGroupField<G: Message>(value: inout G?) throws {
        guard depth < Self.maximumDepth else { return }
        value = try filled(value)
    }
    mutating func decodeRepeatedGroupField<G: Message>(value: inout [G]) throws {
        guard depth < Self.maximumDepth else { return }
        for _ in 0..<source.count() { value.append(try filled()) }
    }

    mutating func decodeMapField<KeyType, ValueType: MapValueType>(
        fieldType: _ProtobufMap<KeyType, ValueType>.Type, value: inout _ProtobufMap<KeyType, ValueType>.BaseType
    ) throws {}
    mutating func decodeMapField<KeyType, ValueType>(
        fieldType: _ProtobufEnumMap<KeyType, ValueType>.Type, value: inout _ProtobufEnumMap<KeyType, ValueType>.BaseType
    ) throws where ValueType.RawValue == Int {}
    mutating func decodeMapField<KeyType, ValueType>(
        fieldType: _ProtobufMessageMap<KeyType, ValueType>.Type, value: inout _ProtobufMessageMap<KeyType, ValueType>.BaseType
    ) throws {}
    mutating func decodeExtensionField(values: inout ExtensionFieldValueSet, messageType: any Message.Type, fieldNumber: Int) throws {}
    mutating func decodeExtensionFieldsAsMessageSet(values: inout ExtensionFieldValueSet, messageType: any Message.Type) throws {}
}
