internal import NIOConcurrencyHelpers
internal import NIOCore
internal import NIOPosix

/// Keeps `connections` TCP connections open to a TLS port, each sending the start of a ClientHello
/// one byte every 100 ms and never finishing it; every connection the server closes is replaced.
final class TrickleFlood: Sendable {
    let port: Int
    let connections: Int
    private let counts = NIOLockedValueBox((opened: 0, closed: 0, longest: Int64(0)))

    /// A record header announcing a 512-byte handshake message, then bytes of it.
    static let bytes: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03] + Array(repeating: 0x2A, count: 500)

    init(port: Int, connections: Int) {
        self.port = port
        self.connections = connections
    }

    var opened: Int { counts.withLockedValue { $0.opened } }
    var closedByGateway: Int { counts.withLockedValue { $0.closed } }
    var longestMilliseconds: Int64 { counts.withLockedValue { $0.longest } / 1_000_000 }

    /// Runs until cancelled, with `connections` attackers (in 20 lanes that each replace theirs).
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            let lanes = 20
            for lane in 0..<lanes {
                let share = connections / lanes + (lane < connections % lanes ? 1 : 0)
                group.addTask { await self.lane(share) }
            }
        }
    }

    private func lane(_ share: Int) async {
        var open: [(channel: any Channel, since: NIODeadline)] = []
        while !Task.isCancelled {
            open.removeAll { entry in
                guard !entry.channel.isActive else { return false }
                let lived = (NIODeadline.now() - entry.since).nanoseconds
                counts.withLockedValue { $0.closed += 1; $0.longest = max($0.longest, lived) }
                return true
            }
            while open.count < share, !Task.isCancelled {
                guard let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(host: "127.0.0.1", port: port).get()
                else { break }
                Self.trickle(channel)
                open.append((channel, .now()))
                counts.withLockedValue { $0.opened += 1 }
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        for entry in open { try? await entry.channel.close().get() }
    }

    private static func trickle(_ channel: any Channel) {
        let position = NIOLockedValueBox(0)
        let task = channel.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(100)) { _ in
            let index = position.withLockedValue { value in
                defer { value = (value + 1) % bytes.count }
                return value
            }
            channel.writeAndFlush(ByteBuffer(bytes: [bytes[index]]), promise: nil)
        }
        channel.closeFuture.whenComplete { _ in task.cancel() }
    }
}
