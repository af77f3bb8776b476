public import Logging
public import NIOCore
public import ServiceLifecycle
internal import ServiceRuntime
internal import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// Asks every backend instance for System.Health on a fixed interval: an instance that answers
/// SERVING is up; one that fails two checks in a row (no answer in time, DRAINING, an error) is
/// down. A call that cannot connect marks its instance down at once; a check brings it back.
public struct HealthChecker: Service {
    let pools: [BackendPool]
    let interval: TimeAmount
    let timeout: TimeAmount
    let logger: Logger

    public init(pools: [BackendPool], interval: TimeAmount, timeout: TimeAmount, logger: Logger) {
        self.pools = pools
        self.interval = interval
        self.timeout = timeout
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await checkAll()
                try? await Task.sleep(for: .nanoseconds(interval.nanoseconds))
            }
        }
        for pool in pools { await pool.close() }
    }

    /// One round: every instance at once.
    public func checkAll() async {
        await withTaskGroup(of: Void.self) { group in
            for pool in pools {
                for instance in pool.instances {
                    group.addTask { await check(instance, in: pool) }
                }
            }
        }
    }

    private func check(_ instance: BackendInstance, in pool: BackendPool) async {
        let serving: Bool
        let detail: String
        do {
            let response = try await instance.client.unary(SystemMethods.health, .init(), timeout: timeout)
            serving = response.status == .serving
            detail = "\(response.status)"
        } catch {
            serving = false
            detail = "\(error)"
        }
        if instance.recordCheck(serving: serving) {
            let metadata: Logger.Metadata = ["pool": "\(pool.name)", "backend": "\(instance.address)", "health": "\(detail)"]
            if serving { logger.notice("backend up", metadata: metadata) } else { logger.warning("backend down", metadata: metadata) }
        }
    }
}
