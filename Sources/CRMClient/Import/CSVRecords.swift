/// Reads RFC 4180 CSV: fields separated by commas, records by CRLF or LF, fields in double quotes
/// may hold commas, line breaks and doubled quotes. A UTF-8 byte order mark is skipped.
public struct CSVRecords: Sequence, IteratorProtocol {
    public struct Record: Equatable, Sendable {
        /// The line the record starts on, from 1.
        public var line: Int
        public var fields: [String]
    }

    public struct MalformedError: Error, CustomStringConvertible, Equatable {
        public var line: Int
        public var description: String { "line \(line): a quoted field is not closed" }
    }

    private let bytes: [UInt8]
    private var offset = 0
    private var line = 1
    /// Set when a record could not be read; the sequence ends there.
    public private(set) var error: MalformedError?

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { offset = 3 }
    }

    public mutating func next() -> Record? {
        // Blank lines between records are skipped.
        while offset < bytes.count, bytes[offset] == UInt8(ascii: "\n") || bytes[offset] == UInt8(ascii: "\r") {
            if bytes[offset] == UInt8(ascii: "\n") { line += 1 }
            offset += 1
        }
        guard offset < bytes.count, error == nil else { return nil }
        let start = line
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") {
                        field.append(byte)
                        offset += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\"") where field.isEmpty:
                quoted = true
            case UInt8(ascii: ","):
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
            case UInt8(ascii: "\r"):
                continue
            case UInt8(ascii: "\n"):
                line += 1
                fields.append(String(decoding: field, as: UTF8.self))
                return Record(line: start, fields: fields)
            default:
                field.append(byte)
            }
        }
        if quoted {
            error = MalformedError(line: start)
            return nil
        }
        fields.append(String(decoding: field, as: UTF8.self))
        return Record(line: start, fields: fields)
    }
}
