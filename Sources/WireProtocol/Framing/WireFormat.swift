/// Fixed numbers of the wire format. Each is part of the frozen layout in docs/PROTOCOL.md.
public enum WireFormat {
    /// The eight bytes a client sends before its first frame: `89 43 52 4D 0D 0A 1A 0A`
    /// ("\x89CRM\r\n\x1A\n"). The high first byte and the line endings make a text client, an HTTP
    /// client or a TLS ClientHello (0x16) fail on the first byte, and catch line-ending mangling.
    public static let preface: [UInt8] = [0x89, 0x43, 0x52, 0x4D, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Size of the big-endian length prefix that starts every frame.
    public static let lengthPrefixSize = 4

    /// Bytes of the fixed header that follow the length prefix: version (1), type (1), flags (2),
    /// stream id (4), service id (2), method id (2), metadata length (4).
    public static let fixedHeaderSize = 16

    /// The only protocol version this implementation speaks.
    public static let currentVersion: UInt16 = 1

    /// The version byte carried by HELLO, HELLO_ACK and any frame sent before HELLO_ACK, whatever
    /// versions the peers support. Frozen forever with the hello layout.
    public static let handshakeVersion: UInt8 = 1

    /// Versions this implementation can negotiate.
    public static let supportedVersions: ClosedRange<UInt16> = 1...1

    /// Largest metadata block a frame may carry.
    public static let maxMetadataSize = 16 * 1024
}

/// Frame size limits. "Frame size" is the value of the length prefix: every byte of the frame after
/// the four prefix bytes.
public struct FrameSizeLimit: Sendable, Hashable {
    /// Default maximum frame size: 4 MiB.
    public static let defaultMaxFrameSize = 4 * 1024 * 1024
    /// No configuration may raise the maximum above 16 MiB.
    public static let hardMaxFrameSize = 16 * 1024 * 1024
    /// No peer may announce less than 16 KiB, so control frames and errors always fit.
    public static let minMaxFrameSize = 16 * 1024

    public let value: Int

    /// A limit of `bytes`, refused outside `minMaxFrameSize...hardMaxFrameSize`.
    public init(_ bytes: Int) throws(ConfigurationRangeError) {
        guard (Self.minMaxFrameSize...Self.hardMaxFrameSize).contains(bytes) else {
            throw ConfigurationRangeError(
                name: "maxFrameSize", value: bytes, allowed: Self.minMaxFrameSize...Self.hardMaxFrameSize)
        }
        self.value = bytes
    }

    public static let `default` = FrameSizeLimit(unchecked: defaultMaxFrameSize)

    private init(unchecked bytes: Int) { self.value = bytes }
}

/// A configured number outside the range the protocol allows.
public struct ConfigurationRangeError: Error, Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var value: Int
    public var allowed: ClosedRange<Int>

    public var description: String {
        "\(name) = \(value) is outside the allowed range \(allowed.lowerBound)...\(allowed.upperBound)"
    }
}
