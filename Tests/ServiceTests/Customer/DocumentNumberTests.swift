@testable import CustomerService
import Foundation
import Testing
import WireProtocol
internal import CRMAPI

@Suite("Identity document numbers")
struct DocumentNumberTests {
    let today = CalendarDate(year: 2026, month: 11, day: 22)!

    @Test("valid PRC resident identity numbers pass", arguments: ["11010519491231002X", "110105199003070017", "440524198001010013"])
    func validResidentID(number: String) {
        #expect(DocumentNumbers.prcResidentIDProblem(number, today: today) == nil)
    }

    @Test(
        "invalid PRC resident identity numbers are refused with the reason",
        arguments: [
            ("110105194912310021", "check character should be X"),
            ("11010519491231002", "must be 18 characters"),
            ("1101051949123100X2", "first 17 characters must be digits"),
            ("991051194912310028", "not a province-level division"),
            ("110105194902300028", "not a real date"),
            ("110105203001010011", "out of range"),
            ("110105189912310011", "out of range"),
        ])
    func invalidResidentID(number: String, reason: String) {
        let problem = DocumentNumbers.prcResidentIDProblem(number, today: today)
        #expect(problem?.contains(reason) == true, "\(number): \(problem ?? "accepted")")
    }

    @Test("unified social credit codes: a published code passes, any changed character fails")
    func unifiedSocialCreditCode() {
        let code = "91350100M000100Y43"
        #expect(DocumentNumbers.unifiedSocialCreditCodeProblem(code) == nil)
        #expect(DocumentNumbers.unifiedSocialCreditCodeProblem("91350100M000100Y44")?.contains("check character should be 3") == true)
        #expect(DocumentNumbers.unifiedSocialCreditCodeProblem("91350100M000100I43")?.contains("not allowed") == true)
        #expect(DocumentNumbers.unifiedSocialCreditCodeProblem("91350100M000100Y4") == "must be 18 characters")
    }

    @Test("other document types are checked by format")
    func formats() {
        #expect(DocumentNumbers.formatProblem("E12345678", type: .passport) == nil)
        #expect(DocumentNumbers.formatProblem("E1", type: .passport) != nil)
        #expect(DocumentNumbers.formatProblem("H12345678", type: .hkMacaoPermit) == nil)
        #expect(DocumentNumbers.formatProblem("X12345678", type: .hkMacaoPermit) != nil)
        #expect(DocumentNumbers.formatProblem("12345678", type: .taiwanPermit) == nil)
        #expect(DocumentNumbers.formatProblem("1234567A", type: .taiwanPermit) != nil)
        #expect(DocumentNumbers.formatProblem("USA123456789012", type: .foreignPermanentResident) == nil)
        #expect(DocumentNumbers.normalize(" e 1234-5678 ") == "E12345678")
    }

    @Test("the fixture's resident id builder agrees with the validator")
    func builtNumbers() {
        for sequence in [1, 17, 999] {
            let number = Profiles.residentID(birthDate: "1985-06-30", sequence: sequence)
            #expect(DocumentNumbers.prcResidentIDProblem(number, today: today) == nil, "\(number)")
        }
    }

    @Test("calendar dates: real days only, leap years included")
    func calendarDates() {
        #expect(CalendarDate(iso: "2024-02-29") != nil)
        #expect(CalendarDate(iso: "2023-02-29") == nil)
        #expect(CalendarDate(iso: "1900-02-29") == nil)
        #expect(CalendarDate(iso: "2000-02-29") != nil)
        #expect(CalendarDate(iso: "2024-13-01") == nil)
        #expect(CalendarDate(iso: "2024-1-01") == nil)
        #expect(CalendarDate(iso: "２０２４-01-01") == nil)
        #expect(CalendarDate(iso: "2024-04-31") == nil)
        #expect(CalendarDate(iso: "1990-03-07")?.description == "1990-03-07")
    }

    @Test("phones and emails are put in one normal form")
    func contactPoints() {
        #expect(ContactPoints.normalizedPhone("138 1234 5678") == "+8613812345678")
        #expect(ContactPoints.normalizedPhone("+86 (138) 1234-5678") == "+8613812345678")
        #expect(ContactPoints.normalizedPhone("0044 20 7946 0958") == "+442079460958")
        #expect(ContactPoints.normalizedPhone("12345") == nil)
        #expect(ContactPoints.normalizedPhone("+86 138 abc") == nil)
        #expect(ContactPoints.normalizedEmail(" Li.Wei@Example.COM ") == "li.wei@example.com")
        #expect(ContactPoints.normalizedEmail("no-at-sign") == nil)
        #expect(ContactPoints.normalizedEmail("a@b") == nil)
        #expect(ContactPoints.normalizedEmail("a..b@example.com") == nil)
    }

    @Test("masking keeps the ends of identity numbers and phones")
    func masking() {
        #expect(Masking.maskDocumentNumber("11010519491231002X") == "110***********002X")
        #expect(Masking.maskPhone("+8613812345678") == "+86138****5678")
        #expect(Masking.mask("123", head: 3, tail: 4) == "*23")
    }
}

@Suite("Calendar arithmetic")
struct CalendarArithmeticTests {
    @Test("today() agrees with Foundation's Gregorian calendar across centuries and leap days")
    func civilFromDays() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for seconds in stride(from: -2_208_988_800.0, through: 4_102_444_800.0, by: 86_400 * 37 + 3_601) {
            let date = Date(timeIntervalSince1970: seconds)
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            let ours = CalendarDate.today(now: date)
            let expected = CalendarDate(year: parts.year!, month: parts.month!, day: parts.day!)
            #expect(ours == expected, "\(date)")
        }
        #expect(CalendarDate(daysSinceEpoch: 0).description == "1970-01-01")
        #expect(CalendarDate(daysSinceEpoch: 11_016).description == "2000-02-29")
        #expect(CalendarDate(daysSinceEpoch: -1).description == "1969-12-31")
    }
}
