internal import ArgumentParser
internal import Foundation
internal import ServiceRuntime
internal import SwiftProtobuf
internal import Synchronization
internal import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// Where `crm-bench run` sends its calls: the gateway for every service (with the caller
/// certificate; the gateway's policy gives the role), or each service directly (with an internal
/// certificate, naming the caller in metadata as the gateway would).
struct Targets: Sendable {
    var customer: [RPCConnection]
    var servicedesk: [RPCConnection]
    var marketing: [RPCConnection]
    /// Metadata on every call: empty through the gateway, the caller's system and role direct.
    var metadata: Metadata

    func customer(_ worker: Int) -> RPCConnection { customer[worker % customer.count] }
    func servicedesk(_ worker: Int) -> RPCConnection { servicedesk[worker % servicedesk.count] }
    func marketing(_ worker: Int) -> RPCConnection { marketing[worker % marketing.count] }

    func closeAll() async {
        for connection in customer + servicedesk + marketing { await connection.closeNow() }
    }
}

/// The workloads of `crm-bench run`. Each is one "operation" whose latency is recorded: one call,
/// except `case`, which is a whole case lifecycle (four calls).
enum Workload: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// System.Echo with 64 bytes (through the gateway the gateway answers it: the client leg only).
    case echo
    /// System.Echo issued from the connection's event loop (`RPCConnection.callOnEventLoop`, no
    /// task per call on the client: ``EventLoopEcho``); closed loop only.
    case echoLoop = "echo-loop"
    /// Customer.Get of a random loaded customer.
    case get
    /// Customer.GetView (the single customer view) of a random loaded customer.
    case view
    /// Customer.Update of a customer's preferred channel: a durable write (customer, audit row,
    /// change event); ``CustomerUpdates``.
    case update
    /// A complaint opened for a random customer, assigned, started and resolved: four durable
    /// writes in ServiceDesk, each moving its SLA clocks.
    case `case`
    /// Marketing.CountSegment: customers of one value grade, aged 30-50, with e-mail or SMS consent,
    /// over the whole mirror.
    case segment
    /// A bank day: 55% views, 20% searches by phone, 15% updates, 8% case lifecycles, 2% segments.
    case mix

    /// Which services the workload needs a connection to.
    var services: Set<String> {
        switch self {
        case .echo, .echoLoop, .get, .view, .update: ["customer"]
        case .case: ["servicedesk"]
        case .segment: ["marketing"]
        case .mix: ["customer", "servicedesk", "marketing"]
        }
    }

    typealias Call = @Sendable (_ worker: Int, _ iteration: Int) async throws -> Void

    /// The workload's call, and what to do before each measurement with `workers` workers: the
    /// `update` workload reads the customers those workers will update (``CustomerUpdates``).
    func makeRun(targets: Targets, count: Int) async throws -> (call: Call, beforeMeasuring: @Sendable (_ workers: Int) async throws -> Void) {
        guard self == .update else { return (try await makeCall(targets: targets, count: count), { _ in }) }
        let updates = CustomerUpdates(targets: targets, count: count)
        return ({ worker, iteration in try await updates.call(worker, iteration) }, { workers in try await updates.readAhead(workers: workers) })
    }

    /// Prepares what the workload needs (an SLA policy for cases) and returns its call.
    func makeCall(targets: Targets, count: Int) async throws -> Call {
        let metadata = targets.metadata
        switch self {
        case .echo, .echoLoop:  // echo-loop measures through EventLoopEcho; this call warms it up
            let finished = Self.echoRequest
            return { worker, _ in _ = try await targets.customer(worker).unary(SystemMethods.echo, finished, metadata: metadata) }
        case .get:
            return { worker, iteration in
                var request = Crm_Customer_V1_GetCustomerRequest()
                request.id = Self.customerID(Self.randomIndex(worker, iteration, count: count))
                guard try await targets.customer(worker).unary(CustomerMethods.get, request, metadata: metadata).customer.id == request.id else {
                    throw WrongAnswer()
                }
            }
        case .view:
            return { worker, iteration in
                var request = Crm_Customer_V1_GetCustomerViewRequest()
                request.id = Self.customerID(Self.randomIndex(worker, iteration, count: count))
                let view = try await targets.customer(worker).unary(CustomerMethods.getView, request, metadata: metadata).view
                guard view.customer.id == request.id else { throw WrongAnswer() }
            }
        case .update:
            return try await makeRun(targets: targets, count: count).call
        case .case:
            try await Self.prepareCases(targets)
            return Self.caseLifecycle(targets: targets, count: count)
        case .segment:
            return Self.segment(targets: targets)
        case .mix:
            try await Self.prepareCases(targets)
            let view = try await Workload.view.makeCall(targets: targets, count: count)
            let updates = CustomerUpdates(targets: targets, count: count)
            let lifecycle = Self.caseLifecycle(targets: targets, count: count)
            let segment = Self.segment(targets: targets)
            let search: Call = { worker, iteration in
                let index = Self.randomIndex(worker, iteration, count: count)
                var request = Crm_Customer_V1_SearchCustomersRequest()
                request.phone = SyntheticCustomers.phone(index)
                request.includeInactive = true
                let found = try await targets.customer(worker).unary(CustomerMethods.search, request, metadata: metadata).customers
                guard found.first?.id == Self.customerID(index) else { throw WrongAnswer() }
            }
            return { worker, iteration in
                // Deterministic per (worker, iteration), so every run draws the same day.
                switch Self.randomIndex(worker &+ 31, iteration, count: 100) {
                case 0..<55: try await view(worker, iteration)
                case 55..<75: try await search(worker, iteration)
                case 75..<90: try await updates.call(worker, iteration)
                case 90..<98: try await lifecycle(worker, iteration)
                default: try await segment(worker, iteration)
                }
            }
        }
    }

    struct WrongAnswer: Error {}

    /// The echo workloads' request: 64 bytes.
    static var echoRequest: Crm_System_V1_EchoRequest {
        var request = Crm_System_V1_EchoRequest()
        request.payload = Data(repeating: 0x61, count: 64)
        return request
    }

    /// The customer of iteration `iteration` of worker `worker`: a xorshift over the loaded range
    /// (the gRPC baseline draws the same sequence).
    static func randomIndex(_ worker: Int, _ iteration: Int, count: Int) -> Int {
        var x = UInt64(truncatingIfNeeded: worker &* 7_919 &+ iteration &* 104_729 &+ 1)
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        return Int(x % UInt64(count))
    }

    static func customerID(_ index: Int) -> String { "C" + String(format: "%010d", index + 1) }

    /// One SLA policy for high-priority complaints (SetSlaPolicies replaces the set, naming the
    /// version in force, so running it again is harmless).
    private static func prepareCases(_ targets: Targets) async throws {
        var policies = Crm_Servicedesk_V1_SetSlaPoliciesRequest()
        policies.expectedVersion = try await targets.servicedesk(0).unary(ServiceDeskMethods.getSlaPolicies, .init(), metadata: targets.metadata).version
        var policy = Crm_Servicedesk_V1_SlaPolicy()
        (policy.kind, policy.priority, policy.firstResponseMinutes, policy.resolutionMinutes, policy.warningPercent) = (.complaint, .high, 60, 480, 75)
        policies.policies = [policy]
        _ = try await targets.servicedesk(0).unary(ServiceDeskMethods.setSlaPolicies, policies, metadata: targets.metadata)
    }

    private static func caseLifecycle(targets: Targets, count: Int) -> Call {
        let metadata = targets.metadata
        return { worker, iteration in
            let connection = targets.servicedesk(worker)
            var open = Crm_Servicedesk_V1_OpenCaseRequest()
            open.kind = .complaint
            open.category = "cards/fees"
            open.channel = .phone
            open.priority = .high
            open.customerID = customerID(randomIndex(worker, iteration, count: count))
            open.subject = "annual fee charged twice"
            open.queue = "complaints-\(worker % 8)"
            let opened = try await connection.unary(ServiceDeskMethods.openCase, open, metadata: metadata).case
            var version = opened.version
            for event in [Crm_Servicedesk_V1_CaseEvent.assign, .start, .resolve] {
                var transition = Crm_Servicedesk_V1_TransitionCaseRequest()
                (transition.id, transition.expectedVersion, transition.event) = (opened.id, version, event)
                if event == .assign { transition.assignee = "agent-\(worker % 50)" }
                if event == .resolve {
                    (transition.resolution.rootCause, transition.resolution.resolutionCode) = ("duplicate posting", "REFUNDED")
                    (transition.resolution.compensationMinor, transition.resolution.compensationCurrency) = (30_000, "CNY")
                }
                version = try await connection.unary(ServiceDeskMethods.transitionCase, transition, metadata: metadata).case.version
            }
        }
    }

    private static func segment(targets: Targets) -> Call {
        let metadata = targets.metadata
        return { worker, iteration in
            var request = Crm_Marketing_V1_CountSegmentRequest()
            request.filter.all = [
                SegmentBenchmark.condition(.valueGrade, .equals, ["\(1 + (worker &+ iteration) % 5)"]),
                SegmentBenchmark.condition(.marketingConsent, .in, ["email", "sms"]),
                SegmentBenchmark.condition(.age, .between, ["30", "50"]),
            ]
            _ = try await targets.marketing(worker).unary(MarketingMethods.countSegment, request, metadata: metadata)
        }
    }
}
