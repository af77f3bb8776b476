internal import Foundation
internal import WireProtocol
internal import CRMAPI

/// Format and check-digit rules for identity document numbers.
enum DocumentNumbers {
    /// Upper-cases and removes spaces and hyphens, the form numbers are stored and searched in.
    static func normalize(_ number: String) -> String {
        String(number.uppercased().unicodeScalars.filter { $0 != " " && $0 != "-" }.map(Character.init))
    }

    /// Why a PRC resident identity number (GB 11643-1999) is not valid, or nil if it is.
    ///
    /// 18 characters: a 6-digit region code whose first two digits name a province-level division,
    /// the birth date as YYYYMMDD (a real date, 1900 or later, not in the future), a 3-digit sequence
    /// and an ISO 7064 MOD 11-2 check character (0-9 or X).
    static func prcResidentIDProblem(_ number: String, today: CalendarDate) -> String? {
        let scalars = Array(number.unicodeScalars)
        guard scalars.count == 18 else { return "must be 18 characters" }
        var digits: [Int] = []
        for scalar in scalars.prefix(17) {
            guard let digit = Int(String(scalar)), scalar.isASCII else { return "the first 17 characters must be digits" }
            digits.append(digit)
        }
        let province = digits[0] * 10 + digits[1]
        guard prcProvinceCodes.contains(province) else { return "region code \(digits[0])\(digits[1]) is not a province-level division" }
        let year = digits[6...9].reduce(0) { $0 * 10 + $1 }
        let month = digits[10] * 10 + digits[11]
        let day = digits[12] * 10 + digits[13]
        guard let birth = CalendarDate(year: year, month: month, day: day) else { return "the birth date is not a real date" }
        guard birth.year >= 1900, birth <= today else { return "the birth date is out of range" }
        let sum = zip(digits, prcWeights).reduce(0) { $0 + $1.0 * $1.1 }
        let expected = prcCheckCharacters[sum % 11]
        guard Character(scalars[17]) == expected else { return "the check character should be \(expected)" }
        return nil
    }

    /// The birth date encoded in a valid PRC resident identity number.
    static func prcResidentIDBirthDate(_ number: String) -> CalendarDate? {
        let scalars = Array(number.unicodeScalars)
        guard scalars.count == 18, let value = Int(String(String.UnicodeScalarView(scalars[6..<14]))) else { return nil }
        return CalendarDate(year: value / 10000, month: value / 100 % 100, day: value % 100)
    }

    /// Why a unified social credit code (GB 32100-2015) is not valid, or nil if it is.
    ///
    /// 18 characters from the 31-character alphabet below (no I, O, Z, S, V); the last is a
    /// MOD 31 check character over the first 17.
    static func unifiedSocialCreditCodeProblem(_ code: String) -> String? {
        let scalars = Array(code.unicodeScalars)
        guard scalars.count == 18 else { return "must be 18 characters" }
        var values: [Int] = []
        for scalar in scalars {
            guard let value = usccAlphabet.firstIndex(of: Character(scalar)) else {
                return "\"\(scalar)\" is not allowed (digits and letters except I, O, Z, S, V)"
            }
            values.append(value)
        }
        let sum = zip(values.prefix(17), usccWeights).reduce(0) { $0 + $1.0 * $1.1 }
        let check = (31 - sum % 31) % 31
        guard values[17] == check else { return "the check character should be \(usccAlphabet[check])" }
        return nil
    }

    /// Why a number of another document type does not have that type's format, or nil.
    static func formatProblem(_ number: String, type: Crm_Customer_V1_DocumentType) -> String? {
        let scalars = Array(number.unicodeScalars)
        let isDigit: (Unicode.Scalar) -> Bool = { $0 >= "0" && $0 <= "9" }
        let isAlphanumeric: (Unicode.Scalar) -> Bool = { isDigit($0) || ($0 >= "A" && $0 <= "Z") }
        switch type {
        case .prcResidentID, .unifiedSocialCreditCode, .unspecified, .UNRECOGNIZED:
            return nil
        case .passport:
            return (5...20).contains(scalars.count) && scalars.allSatisfy(isAlphanumeric) ? nil : "must be 5 to 20 letters and digits"
        case .hkMacaoPermit:
            guard let first = scalars.first, first == "H" || first == "M", [9, 11].contains(scalars.count),
                scalars.dropFirst().allSatisfy(isDigit)
            else { return "must be H or M followed by 8 or 10 digits" }
            return nil
        case .taiwanPermit:
            return [8, 10].contains(scalars.count) && scalars.allSatisfy(isDigit) ? nil : "must be 8 or 10 digits"
        case .foreignPermanentResident:
            return [15, 18].contains(scalars.count) && scalars.allSatisfy(isAlphanumeric) ? nil : "must be 15 or 18 letters and digits"
        }
    }

    /// The check character a PRC resident identity number with these first 17 digits must end in.
    static func prcCheckCharacter(forFirst17 digits: [Int]) -> Character {
        prcCheckCharacters[zip(digits, prcWeights).reduce(0) { $0 + $1.0 * $1.1 } % 11]
    }

    static let prcWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let prcCheckCharacters: [Character] = ["1", "0", "X", "9", "8", "7", "6", "5", "4", "3", "2"]
    /// GB/T 2260 province-level codes, plus 71 (Taiwan), 81 (Hong Kong), 82 (Macao) and 83 (the
    /// residence permits of Taiwan residents).
    static let prcProvinceCodes: Set<Int> = [
        11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54,
        61, 62, 63, 64, 65, 71, 81, 82, 83,
    ]
    static let usccAlphabet: [Character] = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
    static let usccWeights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
}
