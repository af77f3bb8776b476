internal import NIOConcurrencyHelpers
public import NIOCore
public import SwiftProtobuf
internal import WireProtocol

/// The items of a server stream, as an async sequence. Credit is granted as items are consumed,
/// so at most ``window`` items are ever in flight or buffered, however slow the consumer.
/// Dropping the iterator or cancelling the consuming task cancels the call.
public struct ClientStream<Item: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    public typealias Element = Item

    let raw: RawClientStream

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(inner: raw.makeAsyncIterator())
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var inner: RawClientStream.AsyncIterator

        public mutating func next() async throws -> Item? {
            guard let payload = try await inner.next() else { return nil }
            do {
                return try Item(payload: payload)
            } catch {
                inner.source.cancel(RPCError(code: .internal, message: "unreadable stream item", reason: .malformedPayload))
                throw RPCError(code: .internal, message: "the server sent an item that is not a \(Item.protoMessageName)",
                               reason: .malformedPayload, cause: error)
            }
        }
    }
}

/// A server stream's items still encoded, for a caller that passes them on without decoding (the
/// gateway). Credit and cancellation work as in ``ClientStream``.
public struct RawClientStream: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    let source: ClientStreamSource
    let producer: ClientStreamSource.Producer

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(inner: producer.makeAsyncIterator(), source: source)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var inner: ClientStreamSource.Producer.AsyncIterator
        let source: ClientStreamSource
        var consumedSinceGrant: UInt32 = 0

        public mutating func next() async throws -> ByteBuffer? {
            guard let payload = try await inner.next() else { return nil }
            consumedSinceGrant += 1
            if consumedSinceGrant >= Swift.max(source.initialCredit / 2, 1) {
                source.grant(consumedSinceGrant)
                consumedSinceGrant = 0
            }
            return payload
        }
    }
}

/// The connection's side of a client stream: where the handler puts items, and how the consumer
/// grants credit or cancels.
final class ClientStreamSource: Sendable {
    typealias Producer = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, Delegate
    >

    struct Delegate: NIOAsyncSequenceProducerDelegate {
        let source: NIOLockedValueBox<ClientStreamSource?>
        func produceMore() {}  // credit, not this signal, paces the server
        func didTerminate() {
            source.withLockedValue { $0 }?.cancel(RPCError(code: .cancelled, message: "the consumer stopped", reason: .cancelled))
        }
    }

    let initialCredit: UInt32
    private let eventLoop: any EventLoop
    private let handler: NIOLoopBound<RPCClientConnectionHandler>
    private let streamID = NIOLockedValueBox<UInt32?>(nil)
    private let producerSource: Producer.Source

    static func make(
        window: UInt32, eventLoop: any EventLoop, handler: NIOLoopBound<RPCClientConnectionHandler>
    ) -> (ClientStreamSource, Producer) {
        let box = NIOLockedValueBox<ClientStreamSource?>(nil)
        let made = Producer.makeSequence(
            backPressureStrategy: .init(lowWatermark: 0, highWatermark: Int(window) + 1),
            finishOnDeinit: false,
            delegate: Delegate(source: box))
        let source = ClientStreamSource(window: window, eventLoop: eventLoop, handler: handler, producerSource: made.source)
        box.withLockedValue { $0 = source }
        return (source, made.sequence)
    }

    private init(window: UInt32, eventLoop: any EventLoop, handler: NIOLoopBound<RPCClientConnectionHandler>, producerSource: Producer.Source) {
        self.initialCredit = window
        self.eventLoop = eventLoop
        self.handler = handler
        self.producerSource = producerSource
    }

    // Called by the handler, on the event loop.
    func attach(streamID: UInt32) { self.streamID.withLockedValue { $0 = streamID } }
    func yield(_ payload: ByteBuffer) { _ = producerSource.yield(payload) }
    func finish() { producerSource.finish() }
    func finish(throwing error: any Error) { producerSource.finish(error) }

    // Called by the consumer, from any thread.
    func grant(_ items: UInt32) {
        guard let id = streamID.withLockedValue({ $0 }) else { return }
        let handler = self.handler
        eventLoop.execute { handler.value.grantCredit(streamID: id, items: items) }
    }

    func cancel(_ error: RPCError) {
        guard let id = streamID.withLockedValue({ $0 }) else { return }
        let handler = self.handler
        eventLoop.execute { handler.value.cancelCall(streamID: id, error: error) }
    }
}
