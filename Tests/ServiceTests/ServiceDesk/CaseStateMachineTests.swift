import Foundation
import ServiceDeskService
import Testing

@Suite("Case state machine")
struct CaseStateMachineTests {
    let machine = CaseStateMachine(reopenWindow: 7 * 86_400)
    let now = Date(timeIntervalSince1970: 1_795_000_000)

    /// The whole table, written out: every status and event, and where it leads (nil: refused).
    static let expected: [CaseStatus: [CaseEvent: CaseStatus]] = [
        .new: [.assign: .assigned, .cancel: .cancelled],
        .assigned: [.assign: .assigned, .start: .inProgress, .cancel: .cancelled],
        .inProgress: [.assign: .inProgress, .waitOnCustomer: .waitingOnCustomer, .resolve: .resolved, .cancel: .cancelled],
        .waitingOnCustomer: [.assign: .waitingOnCustomer, .customerResponded: .inProgress, .resolve: .resolved, .cancel: .cancelled],
        .resolved: [.close: .closed, .reopen: .inProgress],
        .closed: [.reopen: .inProgress],
        .cancelled: [:],
    ]

    @Test("every status and event: the valid ones lead where the table says, the others are refused naming what is allowed")
    func wholeTable() {
        var refused = 0
        for status in CaseStatus.allCases {
            for event in CaseEvent.allCases {
                let result = machine.apply(event, to: status, closedAt: now, now: now)
                if let target = Self.expected[status]?[event] {
                    #expect((try? result.get())?.to == target, "\(status) + \(event)")
                } else {
                    refused += 1
                    guard case .failure(.notAllowed(let failedEvent, let failedStatus, let allowed)) = result else {
                        Issue.record("\(status) + \(event) was not refused")
                        continue
                    }
                    #expect(failedEvent == event && failedStatus == status)
                    #expect(Set(allowed) == Set(Self.expected[status]!.keys))
                }
            }
        }
        #expect(refused == CaseStatus.allCases.count * CaseEvent.allCases.count - 16)
    }

    @Test("the refusal message names the allowed events")
    func message() {
        let error = machine.apply(.close, to: .inProgress, now: now)
        guard case .failure(let failure) = error else { Issue.record("not refused"); return }
        #expect(failure.description == "a case that is in_progress cannot close; allowed: assign, wait_on_customer, resolve, cancel")
    }

    @Test("the SLA effects: first response at start, pause while waiting, stop at resolve, new clock on reopen")
    func clockEffects() throws {
        #expect(try machine.apply(.start, to: .assigned, now: now).get().clocks == [.stop(.firstResponse)])
        #expect(try machine.apply(.waitOnCustomer, to: .inProgress, now: now).get().clocks == [.pause(.resolution)])
        #expect(try machine.apply(.customerResponded, to: .waitingOnCustomer, now: now).get().clocks == [.resume(.resolution)])
        #expect(try machine.apply(.resolve, to: .waitingOnCustomer, now: now).get().clocks == [.stop(.firstResponse), .stop(.resolution)])
        #expect(try machine.apply(.reopen, to: .resolved, now: now).get().clocks == [.restartResolution])
        #expect(try machine.apply(.cancel, to: .new, now: now).get().clocks == [.cancelAll])
    }

    @Test("a closed case reopens within the window only")
    func reopenWindow() {
        let closed = now.addingTimeInterval(-6 * 86_400)
        #expect((try? machine.apply(.reopen, to: .closed, closedAt: closed, now: now).get())?.to == .inProgress)
        let longAgo = now.addingTimeInterval(-8 * 86_400)
        #expect(throws: CaseTransitionError.reopenWindowPassed(days: 7)) {
            try machine.apply(.reopen, to: .closed, closedAt: longAgo, now: now).get()
        }
    }
}
