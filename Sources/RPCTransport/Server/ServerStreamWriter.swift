public import NIOCore
public import SwiftProtobuf
internal import WireProtocol

/// Writes the items of one server stream. Each ``write(_:)`` waits until the caller has granted
/// credit and the connection can take more bytes, so a slow or stalled caller holds the handler
/// back instead of making the server buffer without bound.
public struct ServerStreamWriter<Item: SwiftProtobuf.Message>: Sendable {
    let sink: any ServerStreamSink

    @usableFromInline init(sink: any ServerStreamSink) { self.sink = sink }

    public func write(_ item: Item) async throws {
        try await sink.write(try item.encodedPayload())
    }
}

/// Writes already encoded items of one server stream (a stream passed through by the gateway),
/// with the same credit and backpressure as ``ServerStreamWriter``.
public struct RawStreamWriter: Sendable {
    let sink: any ServerStreamSink

    public func write(_ payload: ByteBuffer) async throws {
        try await sink.write(payload)
    }
}

/// The byte-level side of a stream writer, implemented by the connection.
@usableFromInline protocol ServerStreamSink: Sendable {
    func write(_ payload: ByteBuffer) async throws
}
