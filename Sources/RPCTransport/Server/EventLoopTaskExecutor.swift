internal import NIOCore

/// Runs a task's jobs on one NIO event loop. A unary handler started with this preference runs on
/// its connection's event loop thread: no wake-up of a thread of the global pool to start it, and
/// its answer is written without another hop. Handlers that wait on the database suspend there
/// (GRDB runs the SQL on its own queues), so the loop stays free while they wait.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `eventLoop` is immutable and EventLoop is Sendable.
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
