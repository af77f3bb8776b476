public import NIOCore

/// Ready-made frames of each type, with the right stream id rules and payloads.
extension Frame {
    public static func hello(_ hello: Hello) -> Frame {
        Frame(version: WireFormat.handshakeVersion, type: .hello, streamID: 0, payload: hello.encodedPayload)
    }

    public static func helloAck(_ hello: Hello) -> Frame {
        Frame(version: WireFormat.handshakeVersion, type: .helloAck, streamID: 0, payload: hello.encodedPayload)
    }

    public static func request(
        streamID: UInt32, method: MethodID, metadata: Metadata = Metadata(), payload: ByteBuffer,
        version: UInt8 = UInt8(WireFormat.currentVersion)
    ) -> Frame {
        Frame(version: version, type: .request, streamID: streamID, method: method, metadata: metadata, payload: payload)
    }

    public static func response(
        streamID: UInt32, method: MethodID, payload: ByteBuffer, version: UInt8 = UInt8(WireFormat.currentVersion)
    ) -> Frame {
        Frame(version: version, type: .response, streamID: streamID, method: method, payload: payload)
    }

    /// An ERROR frame; stream 0 makes it a connection error.
    public static func error(
        streamID: UInt32, method: MethodID = .none, _ error: RPCError,
        version: UInt8 = UInt8(WireFormat.currentVersion)
    ) -> Frame {
        Frame(version: version, type: .error, streamID: streamID, method: method, payload: error.encodedPayload)
    }

    public static func streamItem(
        streamID: UInt32, method: MethodID, payload: ByteBuffer, version: UInt8 = UInt8(WireFormat.currentVersion)
    ) -> Frame {
        Frame(version: version, type: .streamItem, streamID: streamID, method: method, payload: payload)
    }

    public static func streamEnd(
        streamID: UInt32, method: MethodID, version: UInt8 = UInt8(WireFormat.currentVersion)
    ) -> Frame {
        Frame(version: version, type: .streamEnd, streamID: streamID, method: method)
    }

    public static func credit(
        streamID: UInt32, items: UInt32, version: UInt8 = UInt8(WireFormat.currentVersion)
    ) -> Frame {
        Frame(version: version, type: .credit, streamID: streamID, payload: CreditGrant(items: items).encodedPayload)
    }

    public static func cancel(streamID: UInt32, version: UInt8 = UInt8(WireFormat.currentVersion)) -> Frame {
        Frame(version: version, type: .cancel, streamID: streamID)
    }

    public static func ping(_ value: UInt64, version: UInt8 = UInt8(WireFormat.currentVersion)) -> Frame {
        Frame(version: version, type: .ping, streamID: 0, payload: PingPayload(value: value).encodedPayload)
    }

    public static func pong(_ value: UInt64, version: UInt8 = UInt8(WireFormat.currentVersion)) -> Frame {
        Frame(version: version, type: .pong, streamID: 0, payload: PingPayload(value: value).encodedPayload)
    }

    public static func goAway(_ goAway: GoAway, version: UInt8 = UInt8(WireFormat.currentVersion)) -> Frame {
        Frame(version: version, type: .goAway, streamID: 0, payload: goAway.encodedPayload)
    }
}
