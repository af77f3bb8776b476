/// The kind of a frame: byte 5 of every frame (docs/PROTOCOL.md, "Frame types").
///
/// New frame types arrive only with a new protocol version, so a frame type this version does not
/// know is a protocol error, never silently skipped.
public enum FrameType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Client -> server, stream 0: the first frame after the preface; versions and limits.
    case hello = 0x01
    /// Server -> client, stream 0: the negotiated version and the server's limits.
    case helloAck = 0x02
    /// Client -> server: a call of the method named in the header; payload is the request message.
    case request = 0x03
    /// Server -> client: the single answer to a unary call; ends the stream.
    case response = 0x04
    /// Either direction: a `crm.wire.v1.Status`. On a stream it ends that stream; on stream 0 it
    /// ends the connection.
    case error = 0x05
    /// Server -> client: one item of a server stream; consumes one credit.
    case streamItem = 0x06
    /// Server -> client: a server stream ended successfully.
    case streamEnd = 0x07
    /// Client -> server: grants more items to a server stream (flow control).
    case credit = 0x08
    /// Client -> server: the caller no longer wants the answer to a stream.
    case cancel = 0x09
    /// Either direction, stream 0: liveness probe with 8 opaque bytes.
    case ping = 0x0A
    /// Either direction, stream 0: the answer to a ping, echoing its bytes.
    case pong = 0x0B
    /// Either direction, stream 0: the sender will process no stream above the given id.
    case goAway = 0x0C

    /// Whether frames of this type belong to the connection (stream id 0) rather than to a call.
    public var isConnectionLevel: Bool {
        switch self {
        case .hello, .helloAck, .ping, .pong, .goAway: true
        case .request, .response, .streamItem, .streamEnd, .credit, .cancel: false
        case .error: false
        }
    }

    public var description: String {
        switch self {
        case .hello: "HELLO"
        case .helloAck: "HELLO_ACK"
        case .request: "REQUEST"
        case .response: "RESPONSE"
        case .error: "ERROR"
        case .streamItem: "STREAM_ITEM"
        case .streamEnd: "STREAM_END"
        case .credit: "CREDIT"
        case .cancel: "CANCEL"
        case .ping: "PING"
        case .pong: "PONG"
        case .goAway: "GOAWAY"
        }
    }
}

/// Bits of the header's flags field. Version 1 defines none: senders send 0 and receivers ignore
/// bits they do not know, so later versions can add flags that old peers may safely ignore.
public struct FrameFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
}
