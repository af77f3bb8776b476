@testable import CustomerService
import GRDB
import Testing
import WireProtocol
internal import CRMAPI

/// The single customer view is the hottest read: its queries must read rows in the order they are
/// listed, from indexes, and never sort in a temporary B-tree (the history of docs/BENCHMARKS.md, "The view's
/// reads without sorts or re-prepared transactions").
@Suite("Single customer view query plans")
struct ViewQueryPlanTests {
    @Test("every query of the single customer view reads in index order; only the household's rollup groups in a temporary B-tree")
    func noSorts() async throws {
        let fixture = try TemporaryCustomerStore()
        let customer = try await fixture.create(Profiles.individual()).customer
        let spouse = try await fixture.create(Profiles.individual(nameZh: "李梅", residentID: nil, phone: nil)).customer
        _ = try await fixture.upsert([
            Holdings.make("JT0001", customer: customer.id, role: .owner, balanceYuan: 300_000),
            Holdings.make("JT0001", customer: spouse.id, role: .jointOwner, balanceYuan: 300_000),
            Holdings.make("CA0009", customer: customer.id, balanceYuan: 5, openedOn: "2019-01-01", closedOn: "2024-01-01"),
        ])
        var household = Crm_Customer_V1_CreateHouseholdRequest()
        household.name = "张家"
        household.members = [Households.member(customer.id, .head), Households.member(spouse.id, .spouse)]
        let createHousehold = household
        _ = try await fixture.write { directory, db in try directory.createHousehold(createHousehold, caller: .servicing, db) }

        var request = Crm_Customer_V1_GetCustomerViewRequest()
        request.id = customer.id
        let view = request
        let plans = try await fixture.read { directory, db -> [String: [String]] in
            var statements: [String] = []
            db.trace(options: .statement) { event in
                if case .statement(let statement) = event { statements.append(statement.sql) }
            }
            _ = try directory.getView(view, caller: .servicing, db)
            db.trace(options: .statement, nil)
            var plans: [String: [String]] = [:]
            for sql in Set(statements) {
                // The plan does not depend on the values, so the parameters stay unbound.
                let explain = try db.makeStatement(sql: "EXPLAIN QUERY PLAN \(sql)")
                explain.setUncheckedArguments([])
                plans[sql] = try Row.fetchAll(explain).map { $0["detail"] }
            }
            return plans
        }
        #expect(plans.count >= 12, "the view's queries were traced: \(plans.keys.sorted())")
        #expect(plans.keys.contains { $0.contains("FROM service_agreement") })
        #expect(plans.keys.contains { $0.contains("FROM case_summary") })
        #expect(plans.keys.contains { $0.contains("FROM opportunity_summary") })
        #expect(plans.keys.contains { $0.contains("FROM consent_event") })
        for (sql, steps) in plans {
            let sorts = steps.filter { $0.contains("TEMP B-TREE") }
            if sql.contains("GROUP BY a.account_number") {
                #expect(sorts == ["USE TEMP B-TREE FOR GROUP BY"], "\(sql)")
            } else {
                #expect(sorts.isEmpty, "\(sql): \(steps)")
                #expect(!steps.contains { $0.hasPrefix("SCAN") }, "\(sql): \(steps)")
            }
        }
    }
}
