@testable import CustomerService
import Foundation
import GRDB
import ServiceRuntime
import SwiftProtobuf
import Testing
import WireProtocol
internal import CRMAPI

/// The fixtures' clock stands at 2026-11-18 (1_795_000_000 s).
@Suite("Accounts, grades, contact history and the single customer view")
struct AccountsTests {
    @Test("the feed creates, then leaves unchanged on a repeat, then updates what differs")
    func upsertIsIdempotent() async throws {
        let fixture = try TemporaryCustomerStore()
        let customer = try await fixture.create(Profiles.individual()).customer
        let batch = [
            Holdings.make("6222020200001234", customer: customer.id),
            Holdings.make("TD0001", customer: customer.id, type: .timeDeposit, balanceYuan: 500_000, maturity: "2027-05-01"),
        ]
        let first = try await fixture.upsert(batch)
        #expect((first.created, first.updated, first.unchanged, first.rejected) == (2, 0, 0, 0))
        let auditRows = try await fixture.read { _, db in try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_log") }
        let again = try await fixture.upsert(batch)
        #expect((again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 0))
        #expect(try await fixture.read { _, db in try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_log") } == auditRows)

        var changed = batch
        changed[0].balanceMinor += 100
        changed[0].reportingBalanceMinor = 0  // for CNY, 0 means "the same as the balance"
        let third = try await fixture.upsert(changed)
        #expect((third.created, third.updated, third.unchanged) == (0, 1, 1))
        #expect(third.results.map(\.outcome) == [.updated, .unchanged])
    }

    @Test("bad holdings are rejected one by one, naming the field, while the good ones are stored")
    func rejections() async throws {
        let fixture = try TemporaryCustomerStore()
        let customer = try await fixture.create(Profiles.individual()).customer
        var negative = Holdings.make("ACC000001", customer: customer.id)
        negative.balanceMinor = -1
        var unknownType = Holdings.make("ACC000002", customer: customer.id)
        unknownType.productType = .UNRECOGNIZED(42)
        let batch = [
            negative,
            Holdings.make("ACC000003", customer: "C0000000999"),
            Holdings.make("TD000004", customer: customer.id, type: .timeDeposit),
            Holdings.make("ACC000005", customer: customer.id, currency: "USD"),
            Holdings.make("ACC000006", customer: customer.id, openedOn: "2026-02-30"),
            Holdings.make("ACC000007", customer: customer.id, openedOn: "2030-01-01"),
            Holdings.make("A1", customer: customer.id),
            unknownType,
            Holdings.make("ACC000008", customer: customer.id),
            Holdings.make("ACC000008", customer: customer.id, balanceYuan: 1),
            Holdings.make("ACC000009", customer: customer.id, currency: "USD", reportingYuan: 70_000),
        ]
        let result = try await fixture.upsert(batch)
        #expect(result.results.map(\.field) == [
            "holdings[0].balanceMinor", "holdings[1].customerId", "holdings[2].maturityDate", "holdings[3].reportingBalanceMinor",
            "holdings[4].openedOn", "holdings[5].openedOn", "holdings[6].accountNumber", "holdings[7].productType", "",
            "holdings[9].accountNumber", "",
        ])
        #expect((result.created, result.rejected) == (2, 9))
        let tooMany = await #expect(throws: RPCError.self) {
            try await fixture.upsert(Array(repeating: Holdings.make("ACC000010", customer: customer.id), count: 1001))
        }
        #expect(tooMany?.fieldViolations.map(\.field) == ["holdings"])
    }

    @Test("value grades follow the rules: assets or contribution, best grade reached; rules can change")
    func valueGrades() async throws {
        let fixture = try TemporaryCustomerStore()
        let rich = try await fixture.create(Profiles.individual()).customer
        let earner = try await fixture.create(Profiles.individual(nameZh: "李四", residentID: nil, phone: nil)).customer
        let modest = try await fixture.create(Profiles.individual(nameZh: "王五", residentID: nil, phone: nil)).customer
        #expect(rich.valueGrade == 0, "never held an account")
        _ = try await fixture.upsert([
            Holdings.make("WM0001", customer: rich.id, type: .wealth, balanceYuan: 1_500_000),
            Holdings.make("LN0001", customer: rich.id, type: .loan, balanceYuan: 9_000_000),
            Holdings.make("CA0002", customer: earner.id, balanceYuan: 100, contributionYuan: 3_000),
            Holdings.make("CA0003", customer: modest.id, balanceYuan: 100, contributionYuan: 1),
        ])
        #expect(try await fixture.get(rich.id).valueGrade == 2, "1.5M assets; loans are not assets")
        #expect(try await fixture.get(earner.id).valueGrade == 2, "36,000 a year in contribution")
        #expect(try await fixture.get(modest.id).valueGrade == 5)

        var rules = Crm_Customer_V1_SetValueGradeRulesRequest()
        rules.rules = [(1, 100_000_000), (2, 50_000_000), (3, 20_000_000), (4, 5_000_000)].map { grade, assets in
            var rule = Crm_Customer_V1_ValueGradeRule()
            rule.grade = UInt32(grade)
            rule.minAssetsMinor = Int64(assets)
            rule.minAnnualContributionMinor = Int64.max
            return rule
        }
        let finished = rules
        _ = try await fixture.write { directory, db in try directory.setValueGradeRules(finished, caller: .servicing, db) }
        let progress = try await CustomerHandlers.recomputeAllGrades(store: fixture.store, directory: fixture.directory, caller: .servicing)
        #expect(progress.customersChecked == 3)
        #expect(try await fixture.get(rich.id).valueGrade == 1)
        #expect(try await fixture.get(earner.id).valueGrade == 5)

        rules.rules.swapAt(0, 3)
        rules.rules[0].minAssetsMinor = 999_999_999_999
        let inverted = rules
        let error = await #expect(throws: RPCError.self) {
            try await fixture.write { directory, db in try directory.setValueGradeRules(inverted, caller: .servicing, db) }
        }
        #expect(error?.code == .invalidArgument)
    }

    @Test("lifecycle: prospect, new, growing, mature, dormant, churned")
    func lifecycle() async throws {
        let fixture = try TemporaryCustomerStore()
        let customer = try await fixture.create(Profiles.individual()).customer
        #expect(customer.lifecycleStage == .prospect)
        _ = try await fixture.upsert([Holdings.make("CA0001", customer: customer.id, openedOn: "2026-10-01")])
        #expect(try await fixture.get(customer.id).lifecycleStage == .new)
        _ = try await fixture.upsert([Holdings.make("CA0001", customer: customer.id, openedOn: "2025-10-01")])
        #expect(try await fixture.get(customer.id).lifecycleStage == .growing)
        _ = try await fixture.upsert([
            Holdings.make("CA0001", customer: customer.id, openedOn: "2020-10-01"),
            Holdings.make("CD0001", customer: customer.id, type: .card, openedOn: "2021-01-01"),
            Holdings.make("WM0001", customer: customer.id, type: .wealth, openedOn: "2022-01-01"),
        ])
        #expect(try await fixture.get(customer.id).lifecycleStage == .mature)

        // Seven months later with no activity: dormant; an interaction wakes the customer up.
        let later = CustomerDirectory(now: { Date(timeIntervalSince1970: 1_795_000_000 + 210 * 86_400) })
        _ = try await CustomerHandlers.recomputeAllGrades(store: fixture.store, directory: later, caller: .servicing)
        #expect(try await fixture.get(customer.id).lifecycleStage == .dormant)
        var interaction = Crm_Customer_V1_RecordInteractionRequest()
        interaction.interaction.customerID = customer.id
        interaction.interaction.channel = .call
        interaction.interaction.subject = "reactivation call"
        interaction.interaction.handledBy = "RM001"
        let call = interaction
        _ = try await fixture.store.pool.write { db in try later.recordInteraction(call, caller: .servicing, db) }
        #expect(try await fixture.get(customer.id).lifecycleStage == .mature)

        _ = try await fixture.upsert(
            ["CA0001", "CD0001", "WM0001"].map { Holdings.make($0, customer: customer.id, type: $0 == "CD0001" ? .card : $0 == "WM0001" ? .wealth : .current, openedOn: "2020-10-01", closedOn: "2026-11-01") },
            directory: later)
        #expect(try await fixture.get(customer.id).lifecycleStage == .churned)
    }

    @Test("lifecycle follows the trend: a mature customer whose balances and contribution all fall to 0 becomes CHURN_RISK with the reason; rules are configurable and versioned")
    func churnRiskFromTrend() async throws {
        let fixture = try TemporaryCustomerStore()
        let customer = try await fixture.create(Profiles.individual()).customer
        func holdings(balance: Int64, contribution: Int64) -> [Crm_Customer_V1_AccountHolding] {
            [("CA0001", Crm_Customer_V1_ProductType.current), ("IN0001", .insurance), ("WM0001", .wealth)].map { number, type in
                var holding = Holdings.make(number, customer: customer.id, type: type, openedOn: "2020-10-01")
                (holding.balanceMinor, holding.reportingBalanceMinor, holding.monthlyContributionMinor) = (balance, balance, contribution)
                return holding
            }
        }
        _ = try await fixture.upsert(holdings(balance: 40_000_000, contribution: 150_000))
        let mature = try await fixture.get(customer.id)
        #expect(mature.lifecycleStage == .mature)
        #expect(mature.lifecycleReason == "a customer since 2020-10-01 (3 years or more) with 3 product types open")

        _ = try await fixture.upsert(holdings(balance: 0, contribution: 0))
        let falling = try await fixture.get(customer.id)
        #expect(falling.valueGrade == 5)
        #expect(falling.lifecycleStage == .churnRisk)
        #expect(falling.lifecycleReason == "assets fell 100% within 90 days (from 1200000.00 to 0.00 CNY)")
        let audit = try await fixture.read { _, db in
            try String.fetchAll(db, sql: "SELECT after FROM audit_log WHERE action = 'regrade' AND field LIKE 'lifecycle%' ORDER BY sequence")
        }
        #expect(audit.suffix(2) == ["churnRisk", "assets fell 100% within 90 days (from 1200000.00 to 0.00 CNY)"])

        // The rules are explicit and configurable: a drop must now be total within 7 days, and
        // contribution is judged from 100% only; the window's high is still today's.
        var set = Crm_Customer_V1_SetLifecycleRulesRequest()
        set.rules.churnRiskWindowDays = 7
        set.rules.churnRiskAssetDropPercent = 100
        let request = set
        var again = request
        again.expectedVersion = 3
        let staleRequest = again
        let stale = await #expect(throws: RPCError.self) {
            _ = try await fixture.write { directory, db in try directory.setLifecycleRules(staleRequest, caller: .servicing, db) }
        }
        #expect(stale?.reason == "STALE_VERSION")
        let response = try await fixture.write { directory, db in try directory.setLifecycleRules(request, caller: .servicing, db) }
        #expect(response.version == 1 && response.rules.dormantAfterDays == 180 && response.rules.churnRiskWindowDays == 7)
        let read = try await fixture.read { directory, db in try directory.getLifecycleRules(.init(), db) }
        #expect(read.version == 1 && read.rules == response.rules && read.setBy == "branch-teller/u1001")
        let invalid = await #expect(throws: RPCError.self) {
            var bad = Crm_Customer_V1_SetLifecycleRulesRequest()
            (bad.expectedVersion, bad.rules.churnRiskWindowDays) = (1, 400)
            let finished = bad
            _ = try await fixture.write { directory, db in try directory.setLifecycleRules(finished, caller: .servicing, db) }
        }
        #expect(invalid?.fieldViolations.map(\.field) == ["rules.churnRiskWindowDays"])

        // Eight days on, the highs of the first day are outside the 7-day window: nothing fell, and
        // the customer is judged on what they hold (mature).
        let later = CustomerDirectory(now: { Date(timeIntervalSince1970: 1_795_000_000 + 8 * 86_400) })
        _ = try await CustomerHandlers.recomputeAllGrades(store: fixture.store, directory: later, caller: .servicing)
        let settled = try await fixture.get(customer.id)
        #expect(settled.lifecycleStage == .mature, "\(settled.lifecycleReason)")
    }

    @Test("contact history: newest first, in pages; future times and missing fields refused")
    func interactions() async throws {
        let fixture = try TemporaryCustomerStore()
        let customer = try await fixture.create(Profiles.individual()).customer
        for index in 1...5 { _ = try await fixture.recordInteraction(customer.id, subject: "visit \(index)") }
        var request = Crm_Customer_V1_ListInteractionsRequest()
        request.customerID = customer.id
        request.pageSize = 3
        let first = request
        let page1 = try await fixture.read { directory, db in try directory.listInteractions(first, db) }
        #expect(page1.interactions.map(\.subject) == ["visit 5", "visit 4", "visit 3"])
        request.pageToken = page1.nextPageToken
        let second = request
        let page2 = try await fixture.read { directory, db in try directory.listInteractions(second, db) }
        #expect(page2.interactions.map(\.subject) == ["visit 2", "visit 1"])
        #expect(page2.nextPageToken.isEmpty)

        let future = await #expect(throws: RPCError.self) {
            try await fixture.recordInteraction(customer.id, atMs: 1_795_000_000_000 + 3_600_000)
        }
        #expect(future?.fieldViolations.map(\.field) == ["interaction.at.milliseconds"])
        let empty = await #expect(throws: RPCError.self) { try await fixture.recordInteraction(customer.id, subject: " ") }
        #expect(empty?.fieldViolations.map(\.field) == ["interaction.subject"])
    }

    @Test("the single customer view: profile, accounts with totals per currency and in CNY, recent contacts, merged records")
    func singleCustomerView() async throws {
        let fixture = try TemporaryCustomerStore()
        let customer = try await fixture.create(Profiles.individual()).customer
        let spouse = try await fixture.create(Profiles.individual(nameZh: "李梅", residentID: nil, phone: nil)).customer
        _ = try await fixture.upsert([
            Holdings.make("CA0001", customer: customer.id, balanceYuan: 20_000, contributionYuan: 50),
            Holdings.make("JT0001", customer: customer.id, role: .jointOwner, balanceYuan: 100_000),
            Holdings.make("JT0001", customer: spouse.id, role: .jointOwner, balanceYuan: 100_000),
            Holdings.make("FX0001", customer: customer.id, type: .fx, balanceYuan: 1_000, currency: "USD", reportingYuan: 7_100),
            Holdings.make("LN0001", customer: customer.id, type: .loan, balanceYuan: 300_000),
            Holdings.make("GT0001", customer: customer.id, type: .loan, role: .guarantor, balanceYuan: 50_000),
            Holdings.make("CA0009", customer: customer.id, balanceYuan: 5, openedOn: "2019-01-01", closedOn: "2024-01-01"),
        ])
        _ = try await fixture.recordInteraction(customer.id, subject: "mortgage advice")
        let view = try await fixture.view(customer.id)
        #expect(view.customer.id == customer.id)
        #expect(!view.customer.masked)
        #expect(view.accounts.map(\.accountNumber) == ["CA0001", "FX0001", "GT0001", "JT0001", "LN0001", "CA0009"])
        #expect(view.totals.map(\.currency) == ["CNY", "USD"])
        #expect(view.totals[0].assetsMinor == 12_000_000)
        #expect(view.totals[0].liabilitiesMinor == 35_000_000)
        #expect(view.totals[1].assetsMinor == 100_000)
        #expect(view.reportingAssetsMinor == 12_710_000)
        #expect(view.reportingLiabilitiesMinor == 35_000_000)
        #expect(view.recentInteractions.map(\.subject) == ["mortgage advice"])

        let marketing = try await fixture.view(customer.id, caller: .marketing)
        #expect(marketing.customer.masked)

        let search = Crm_Customer_V1_SearchCustomersRequest.with { $0.accountNumber = "jt0001" }
        #expect(try await fixture.read { directory, db in try directory.search(search, db) }.customers.map(\.id) == [customer.id, spouse.id])
    }

    @Test("merging two holders of one joint account keeps one holding; unmerge restores holdings and contacts exactly")
    func mergeWithAccounts() async throws {
        let fixture = try TemporaryCustomerStore()
        let first = try await fixture.create(Profiles.individual()).customer
        let second = try await fixture.create(Profiles.individual(nameZh: "张叁", residentID: nil, phone: nil)).customer
        _ = try await fixture.upsert([
            Holdings.make("JT0001", customer: first.id, role: .owner),
            Holdings.make("JT0001", customer: second.id, role: .jointOwner),
            Holdings.make("CA0002", customer: second.id, balanceYuan: 2_000_000),
        ])
        _ = try await fixture.recordInteraction(second.id)
        let survivor = try await fixture.get(first.id)
        let merged = try await fixture.get(second.id)
        let before = try await fixture.content([first.id, second.id])
        let result = try await fixture.merge(survivor: survivor, merged: merged)
        let view = try await fixture.view(first.id)
        #expect(view.accounts.map(\.accountNumber) == ["CA0002", "JT0001"])
        #expect(view.accounts.map(\.role) == [.owner, .owner])
        #expect(view.recentInteractions.count == 1)
        #expect(view.mergedCustomerIds == [second.id])
        #expect(view.customer.valueGrade == 2, "regraded with the merged record's 2M")
        _ = try await fixture.unmerge(result.mergeID)
        #expect(try await fixture.content([first.id, second.id]) == before)
    }
}
