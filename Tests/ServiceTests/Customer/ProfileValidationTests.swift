@testable import CustomerService
import Foundation
import ServiceRuntime
import Testing
import WireProtocol
internal import CRMAPI

/// Every field has a format and a limit; a bad one is refused with INVALID_ARGUMENT naming it.
@Suite("Customer profile validation")
struct ProfileValidationTests {
    let validator = ProfileValidator(today: CalendarDate(year: 2026, month: 11, day: 22)!)

    func violations(_ configure: (inout Crm_Customer_V1_CustomerProfile) -> Void) -> [String] {
        var profile = Profiles.individual()
        configure(&profile)
        do {
            _ = try validator.validated(profile)
            return []
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument)
            #expect(error.reason == "INVALID_FIELD")
            #expect(error.processing == .notProcessed)
            return error.fieldViolations.map(\.field)
        } catch {
            Issue.record("unexpected \(error)")
            return []
        }
    }

    @Test("the fixture profile is valid")
    func valid() {
        #expect(violations { _ in }.isEmpty)
    }

    @Test("strings over their limit")
    func lengths() {
        #expect(violations { $0.individual.nameZh = String(repeating: "张", count: 51) } == ["profile.individual.nameZh"])
        #expect(violations { $0.individual.nameLatin = String(repeating: "a", count: 101) } == ["profile.individual.nameLatin"])
        #expect(violations { $0.individual.occupation = String(repeating: "a", count: 101) } == ["profile.individual.occupation"])
        #expect(violations { $0.relationshipManagerID = String(repeating: "R", count: 21) } == ["profile.relationshipManagerId"])
        #expect(violations { $0.documents[0].number = String(repeating: "1", count: 41) } == ["profile.documents[0].number"])
        #expect(violations { $0.contacts[0].label = String(repeating: "x", count: 31) } == ["profile.contacts[0].label"])
        #expect(violations { $0.individual.nameZh = "张\u{0007}三" } == ["profile.individual.nameZh"])
    }

    @Test("unknown enum values")
    func unknownEnums() {
        #expect(violations { $0.individual.gender = .UNRECOGNIZED(9) } == ["profile.individual.gender"])
        #expect(violations { $0.individual.incomeBand = .UNRECOGNIZED(42) } == ["profile.individual.incomeBand"])
        #expect(violations { $0.preferredChannel = .UNRECOGNIZED(7) } == ["profile.preferredChannel"])
        #expect(violations { $0.documents[0].type = .UNRECOGNIZED(99) } == ["profile.documents[0].type"])
        #expect(violations { $0.contacts[0].kind = .UNRECOGNIZED(4) } == ["profile.contacts[0].kind"])
        #expect(violations { $0.kind = .UNRECOGNIZED(3) }.contains("profile.kind"))
        #expect(violations { $0.kind = .unspecified }.contains("profile.kind"))
    }

    @Test("impossible and out-of-range dates")
    func dates() {
        #expect(violations { $0.individual.birthDate = "1990-02-30"; $0.documents = [] } == ["profile.individual.birthDate"])
        #expect(violations { $0.individual.birthDate = "2027-01-01"; $0.documents = [] } == ["profile.individual.birthDate"])
        #expect(violations { $0.individual.birthDate = "1899-12-31"; $0.documents = [] } == ["profile.individual.birthDate"])
        #expect(violations { $0.individual.birthDate = "31/12/1949" } == ["profile.individual.birthDate"])
        #expect(violations { $0.documents[0].expiryDate = "2030-13-01" } == ["profile.documents[0].expiryDate"])
    }

    @Test("oversize lists")
    func lists() {
        #expect(violations { profile in
            profile.documents = (1...11).map { index in
                var document = Crm_Customer_V1_IdentityDocument()
                document.type = .passport
                document.number = "E\(10_000_000 + index)"
                return document
            }
        } == ["profile.documents"])
        #expect(violations { profile in
            profile.contacts = (1...21).map { index in
                var contact = Crm_Customer_V1_Contact()
                contact.kind = .email
                contact.value = "a\(index)@example.com"
                return contact
            }
        } == ["profile.contacts"])
    }

    @Test("formats and cross-field rules")
    func formats() {
        #expect(violations { $0.contacts[0].value = "not a phone" } == ["profile.contacts[0].value"])
        #expect(violations { $0.contacts[0].kind = .email } == ["profile.contacts[0].value"])
        #expect(violations { $0.individual.nationality = "China" } == ["profile.individual.nationality"])
        #expect(violations { $0.individual.nameZh = ""; $0.individual.nameLatin = "  " } == ["profile.individual.nameZh"])
        #expect(violations { $0.documents.append($0.documents[0]) } == ["profile.documents[1]"])
        #expect(violations { $0.contacts.append($0.contacts[0]) } == ["profile.contacts[1].primary"])
        #expect(violations { $0.corporate.legalName = "ACME" } == ["profile.corporate"])
        #expect(violations { $0.documents[0].type = .unifiedSocialCreditCode } .contains("profile.documents[0].type"))
        #expect(violations { $0.branchID = "BJ 01" } == ["profile.branchId"])
        #expect(violations { profile in
            var address = Crm_Customer_V1_Contact()
            address.kind = .address
            address.address.line1 = "1 Chang'an Avenue"
            profile.contacts.append(address)
        } == ["profile.contacts[1].address.city"])
    }

    @Test("a corporate needs a legal name and takes a unified social credit code")
    func corporate() throws {
        var profile = Crm_Customer_V1_CustomerProfile()
        profile.kind = .corporate
        profile.corporate.legalName = "  Example Trading Co., Ltd.  "
        var document = Crm_Customer_V1_IdentityDocument()
        document.type = .unifiedSocialCreditCode
        document.number = "91350100m000100y43"
        profile.documents = [document]
        let valid = try validator.validated(profile)
        #expect(valid.corporate.legalName == "Example Trading Co., Ltd.")
        #expect(valid.documents[0].number == "91350100M000100Y43")

        profile.corporate.legalName = ""
        profile.documents[0].type = .prcResidentID
        let error = #expect(throws: RPCError.self) { try validator.validated(profile) }
        #expect(Set(error?.fieldViolations.map(\.field) ?? []) == ["profile.corporate.legalName", "profile.documents[0].type", "profile.documents[0].number"])
    }

    @Test("all problems are reported at once")
    func allAtOnce() {
        let fields = violations {
            $0.individual.nameZh = String(repeating: "张", count: 60)
            $0.individual.gender = .UNRECOGNIZED(5)
            $0.contacts[0].value = "x"
        }
        #expect(fields == ["profile.individual.nameZh", "profile.individual.gender", "profile.contacts[0].value"])
    }
}
