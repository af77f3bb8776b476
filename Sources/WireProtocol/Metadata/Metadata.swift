public import NIOCore

/// Per-frame metadata: a block of tag-length-value entries after the fixed header
/// (docs/PROTOCOL.md, "Metadata").
///
/// ```
/// +----------------+----------------+------------------------+
/// |   tag (u16)    |  length (u16)  |  value (length bytes)  |  repeated to the block's end
/// +----------------+----------------+------------------------+
/// ```
///
/// Receivers skip tags they do not know, so new tags never break old peers. A known tag whose value
/// has the wrong size or is not valid UTF-8, or a tag that appears twice, is malformed.
public struct Metadata: Sendable, Hashable {
    /// Relative deadline: the caller waits this many milliseconds from sending the request.
    public var timeoutMilliseconds: UInt32?
    /// 1 for the first try of a request, 2 for the first retry, and so on.
    public var attempt: UInt16?
    /// Items the caller grants a server stream before its first CREDIT frame.
    public var initialCredit: UInt32?

    /// W3C trace context `traceparent`, e.g. `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`.
    public var traceparent: String? {
        get { textBox?.values.traceparent }
        set { setText(\.traceparent, newValue) }
    }
    /// W3C trace context `tracestate`.
    public var tracestate: String? {
        get { textBox?.values.tracestate }
        set { setText(\.tracestate, newValue) }
    }
    /// Makes a mutating request safe to retry: the server answers a repeat with the first answer.
    public var idempotencyKey: String? {
        get { textBox?.values.idempotencyKey }
        set { setText(\.idempotencyKey, newValue) }
    }
    /// The calling system, as authenticated by the gateway. Only the gateway sets the caller
    /// fields; it replaces whatever a client sent, and services trust them only from the gateway.
    public var callerSystem: String? {
        get { textBox?.values.callerSystem }
        set { setText(\.callerSystem, newValue) }
    }
    /// The caller's role (decides masking of personal data), set by the gateway.
    public var callerRole: String? {
        get { textBox?.values.callerRole }
        set { setText(\.callerRole, newValue) }
    }
    /// The end user on whose behalf the calling system acts, as that system reported it.
    public var endUser: String? {
        get { textBox?.values.endUser }
        set { setText(\.endUser, newValue) }
    }
    /// How the caller's role sees each kind of personal field (``MaskingPolicy/encoded``), set by
    /// the gateway from its caller policy; the owning service masks its answers by it.
    public var masking: String? {
        get { textBox?.values.masking }
        set { setText(\.masking, newValue) }
    }

    /// The string fields, in one copy-on-write box, nil until one is set. A frame's metadata is
    /// copied several times on its way (frame, state machine action, call context): six optional
    /// strings made every copy six reference-count operations, even when all were nil (about 3% of
    /// an echo's CPU); the box makes it one, and none for metadata without strings.
    private var textBox: TextBox?

    private struct TextValues: Hashable, Sendable {
        var traceparent: String?
        var tracestate: String?
        var idempotencyKey: String?
        var callerSystem: String?
        var callerRole: String?
        var endUser: String?
        var masking: String?
    }

    /// Mutated only while uniquely referenced (``setText(_:_:)``), so never while shared.
    private final class TextBox: @unchecked Sendable {
        var values: TextValues
        init(_ values: TextValues) { self.values = values }
    }

    private mutating func setText(_ field: WritableKeyPath<TextValues, String?>, _ value: String?) {
        if textBox == nil {
            guard value != nil else { return }
            textBox = TextBox(TextValues())
        } else if !isKnownUniquelyReferenced(&textBox) {
            textBox = TextBox(textBox!.values)
        }
        textBox!.values[keyPath: field] = value
    }

    private var textValues: TextValues { textBox?.values ?? TextValues() }

    public init(
        timeoutMilliseconds: UInt32? = nil,
        traceparent: String? = nil,
        tracestate: String? = nil,
        idempotencyKey: String? = nil,
        attempt: UInt16? = nil,
        callerSystem: String? = nil,
        callerRole: String? = nil,
        endUser: String? = nil,
        initialCredit: UInt32? = nil,
        masking: String? = nil
    ) {
        self.timeoutMilliseconds = timeoutMilliseconds
        self.attempt = attempt
        self.initialCredit = initialCredit
        let values = TextValues(
            traceparent: traceparent, tracestate: tracestate, idempotencyKey: idempotencyKey,
            callerSystem: callerSystem, callerRole: callerRole, endUser: endUser, masking: masking)
        if values != TextValues() { textBox = TextBox(values) }
    }

    public static func == (lhs: Metadata, rhs: Metadata) -> Bool {
        lhs.timeoutMilliseconds == rhs.timeoutMilliseconds && lhs.attempt == rhs.attempt
            && lhs.initialCredit == rhs.initialCredit && lhs.textValues == rhs.textValues
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(timeoutMilliseconds)
        hasher.combine(attempt)
        hasher.combine(initialCredit)
        hasher.combine(textValues)
    }

    /// Initial credit of a server stream whose request carried none.
    public static let defaultInitialCredit: UInt32 = 16

    public var isEmpty: Bool { self == Metadata() }

    /// Removes the fields only a gateway may set. A gateway calls this on every inbound request
    /// before it sets the authenticated identity.
    public mutating func removeCallerIdentity() {
        callerSystem = nil
        callerRole = nil
        endUser = nil
        masking = nil
    }
}

/// The metadata tags of protocol version 1. A number, once given, is never reused.
public enum MetadataTag {
    public static let timeoutMilliseconds: UInt16 = 0x0001
    public static let traceparent: UInt16 = 0x0002
    public static let tracestate: UInt16 = 0x0003
    public static let idempotencyKey: UInt16 = 0x0004
    public static let attempt: UInt16 = 0x0005
    public static let callerSystem: UInt16 = 0x0006
    public static let callerRole: UInt16 = 0x0007
    public static let endUser: UInt16 = 0x0008
    public static let initialCredit: UInt16 = 0x0009
    public static let masking: UInt16 = 0x000A

    /// Longest value, in bytes, of each string tag.
    static let maxStringLength: [UInt16: Int] = [
        traceparent: 128,
        tracestate: 512,
        idempotencyKey: 128,
        callerSystem: 128,
        callerRole: 64,
        endUser: 128,
        masking: 256,
    ]
}

extension Metadata {
    /// Size of the encoded block in bytes.
    public var encodedSize: Int {
        var size = 0
        if timeoutMilliseconds != nil { size += 4 + 4 }
        if attempt != nil { size += 4 + 2 }
        if initialCredit != nil { size += 4 + 4 }
        // Field by field, not a loop over an array of them: this runs for every frame sent.
        if let traceparent { size += 4 + traceparent.utf8.count }
        if let tracestate { size += 4 + tracestate.utf8.count }
        if let idempotencyKey { size += 4 + idempotencyKey.utf8.count }
        if let callerSystem { size += 4 + callerSystem.utf8.count }
        if let callerRole { size += 4 + callerRole.utf8.count }
        if let endUser { size += 4 + endUser.utf8.count }
        if let masking { size += 4 + masking.utf8.count }
        return size
    }

    /// Writes the block in ascending tag order. Returns the number of bytes written.
    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        let start = buffer.writerIndex
        if let timeoutMilliseconds {
            Self.writeEntryHeader(tag: MetadataTag.timeoutMilliseconds, length: 4, into: &buffer)
            buffer.writeInteger(timeoutMilliseconds)
        }
        Self.writeString(traceparent, tag: MetadataTag.traceparent, into: &buffer)
        Self.writeString(tracestate, tag: MetadataTag.tracestate, into: &buffer)
        Self.writeString(idempotencyKey, tag: MetadataTag.idempotencyKey, into: &buffer)
        if let attempt {
            Self.writeEntryHeader(tag: MetadataTag.attempt, length: 2, into: &buffer)
            buffer.writeInteger(attempt)
        }
        Self.writeString(callerSystem, tag: MetadataTag.callerSystem, into: &buffer)
        Self.writeString(callerRole, tag: MetadataTag.callerRole, into: &buffer)
        Self.writeString(endUser, tag: MetadataTag.endUser, into: &buffer)
        if let initialCredit {
            Self.writeEntryHeader(tag: MetadataTag.initialCredit, length: 4, into: &buffer)
            buffer.writeInteger(initialCredit)
        }
        Self.writeString(masking, tag: MetadataTag.masking, into: &buffer)
        return buffer.writerIndex - start
    }

    private static func writeString(_ value: String?, tag: UInt16, into buffer: inout ByteBuffer) {
        guard let value else { return }
        // Values longer than a u16 cannot be framed; `validateForSending` refuses them first.
        let bytes = value.truncatedUTF8(maxBytes: Int(UInt16.max)).utf8
        writeEntryHeader(tag: tag, length: UInt16(bytes.count), into: &buffer)
        buffer.writeBytes(bytes)
    }

    /// An entry's tag and length, as two writeInteger calls: NIO's generic writeMultipleIntegers
    /// ran unspecialised here.
    private static func writeEntryHeader(tag: UInt16, length: UInt16, into buffer: inout ByteBuffer) {
        buffer.writeInteger(tag)
        buffer.writeInteger(length)
    }

    /// Checks the limits a receiver enforces, so a sender finds out before the peer does.
    public func validateForSending() throws(FrameDecodingError) {
        let strings: [(UInt16, String?)] = [
            (MetadataTag.traceparent, traceparent), (MetadataTag.tracestate, tracestate),
            (MetadataTag.idempotencyKey, idempotencyKey), (MetadataTag.callerSystem, callerSystem),
            (MetadataTag.callerRole, callerRole), (MetadataTag.endUser, endUser), (MetadataTag.masking, masking),
        ]
        for (tag, value) in strings {
            guard let value else { continue }
            try Self.checkString(length: value.utf8.count, tag: tag)
        }
        if encodedSize > WireFormat.maxMetadataSize {
            throw FrameDecodingError(.metadataTooLarge(declared: UInt32(encodedSize)))
        }
    }

    private static func checkString(length: Int, tag: UInt16) throws(FrameDecodingError) {
        let max = MetadataTag.maxStringLength[tag] ?? 0
        guard length >= 1, length <= max else {
            throw FrameDecodingError(.malformedMetadata(tag: tag, problem: "length \(length) outside 1...\(max)"))
        }
    }

    /// Parses a metadata block, consuming all of `bytes`. Unknown tags are skipped.
    public static func decode(from bytes: inout ByteBuffer) throws(FrameDecodingError) -> Metadata {
        var metadata = Metadata()
        var seen: UInt32 = 0  // one bit per known tag (1...10): a repeat is malformed
        while bytes.readableBytes > 0 {
            guard let tag = bytes.readInteger(as: UInt16.self), let length = bytes.readInteger(as: UInt16.self) else {
                throw FrameDecodingError(.malformedMetadata(tag: 0, problem: "entry header cut short"))
            }
            guard var value = bytes.readSlice(length: Int(length)) else {
                throw FrameDecodingError(
                    .malformedMetadata(tag: tag, problem: "length \(length) runs past the metadata block"))
            }
            guard (1...MetadataTag.masking).contains(tag) else { continue }  // unknown: skip
            let bit: UInt32 = 1 << tag
            guard seen & bit == 0 else { throw FrameDecodingError(.duplicateMetadataTag(tag)) }
            seen |= bit

            switch tag {
            case MetadataTag.timeoutMilliseconds:
                metadata.timeoutMilliseconds = try readFixed(&value, tag: tag, as: UInt32.self)
            case MetadataTag.attempt:
                metadata.attempt = try readFixed(&value, tag: tag, as: UInt16.self)
            case MetadataTag.initialCredit:
                metadata.initialCredit = try readFixed(&value, tag: tag, as: UInt32.self)
            case MetadataTag.traceparent:
                metadata.traceparent = try readString(&value, tag: tag)
            case MetadataTag.tracestate:
                metadata.tracestate = try readString(&value, tag: tag)
            case MetadataTag.idempotencyKey:
                metadata.idempotencyKey = try readString(&value, tag: tag)
            case MetadataTag.callerSystem:
                metadata.callerSystem = try readString(&value, tag: tag)
            case MetadataTag.callerRole:
                metadata.callerRole = try readString(&value, tag: tag)
            case MetadataTag.endUser:
                metadata.endUser = try readString(&value, tag: tag)
            default:  // MetadataTag.masking, the last of 1...10
                metadata.masking = try readString(&value, tag: tag)
            }
        }
        return metadata
    }

    private static func readFixed<I: FixedWidthInteger>(
        _ value: inout ByteBuffer, tag: UInt16, as: I.Type
    ) throws(FrameDecodingError) -> I {
        guard value.readableBytes == MemoryLayout<I>.size, let integer = value.readInteger(as: I.self) else {
            throw FrameDecodingError(
                .malformedMetadata(tag: tag, problem: "needs \(MemoryLayout<I>.size) bytes, got \(value.readableBytes)"))
        }
        return integer
    }

    private static func readString(_ value: inout ByteBuffer, tag: UInt16) throws(FrameDecodingError) -> String {
        try checkString(length: value.readableBytes, tag: tag)
        guard let string = value.readableBytesView.withContiguousStorageIfAvailable({
            String(validating: $0, as: UTF8.self)
        }) ?? String(validating: Array(value.readableBytesView), as: UTF8.self) else {
            throw FrameDecodingError(.malformedMetadata(tag: tag, problem: "not valid UTF-8"))
        }
        return string
    }
}

extension Metadata: CustomStringConvertible {
    /// The fields that are set, as the synthesized description of the plain struct showed them
    /// (test failures print it), not the box they live in.
    public var description: String {
        let fields: [(String, String?)] = [
            ("timeoutMilliseconds", timeoutMilliseconds.map(String.init)), ("traceparent", traceparent), ("tracestate", tracestate),
            ("idempotencyKey", idempotencyKey), ("attempt", attempt.map(String.init)), ("callerSystem", callerSystem),
            ("callerRole", callerRole), ("endUser", endUser), ("initialCredit", initialCredit.map(String.init)),
            ("masking", masking),
        ]
        return "Metadata(" + fields.compactMap { name, value in value.map { "\(name): \($0)" } }.joined(separator: ", ") + ")"
    }
}
