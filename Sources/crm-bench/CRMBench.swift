internal import ArgumentParser

/// `crm-bench`: load generator and benchmarks (docs/BENCHMARKS.md records its results).
@main
struct CRMBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-bench",
        abstract: "Measure the CRM stack: throughput and latency percentiles.",
        discussion: """
            `run`: workloads against a running system, closed or open loop, through the gateway or direct, \
            beside the raw NIO floor (scripts/bench-system.sh starts a system on the bench data). \
            `echo`: the runtime's echo method over loopback beside a raw NIO length-prefixed echo (the \
            machine's floor), measured in the same run. `load-customers` and `customer`: a synthetic \
            customer base and the CustomerService reads against it.
            """,
        subcommands: [RunBenchmark.self, CommitBenchmark.self, EchoBenchmark.self, LoadCustomers.self, CustomerBenchmark.self, FeedBenchmark.self, GatewayBenchmark.self, ServiceDeskBenchmark.self, SegmentBenchmark.self])
}
