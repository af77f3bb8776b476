internal import Foundation
internal import CustomerService
internal import WireProtocol
internal import CRMAPI

/// Realistic, deterministic customers for loading and benchmarking: customer `index` is always the
/// same person (so a benchmark can look up what the loader wrote without reading it back), with a
/// valid PRC resident id (region, birth date, check character), a unique mainland mobile number,
/// sometimes an email, one to four accounts, and every 20th one a company with a valid unified
/// social credit code.
struct SyntheticCustomers {
    static let surnames: [(String, String)] = [
        ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"), ("黄", "Huang"),
        ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"), ("徐", "Xu"), ("孙", "Sun"), ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"),
        ("郭", "Guo"), ("何", "He"), ("高", "Gao"), ("林", "Lin"), ("罗", "Luo"),
    ]
    static let givenNames: [(String, String)] = [
        ("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("敏", "Min"), ("静", "Jing"), ("丽", "Li"), ("强", "Qiang"), ("磊", "Lei"),
        ("军", "Jun"), ("洋", "Yang"), ("勇", "Yong"), ("艳", "Yan"), ("杰", "Jie"), ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"),
        ("秀英", "Xiuying"), ("桂英", "Guiying"), ("建华", "Jianhua"), ("志强", "Zhiqiang"), ("晓东", "Xiaodong"), ("海燕", "Haiyan"),
        ("子涵", "Zihan"), ("雨桐", "Yutong"), ("浩然", "Haoran"), ("思远", "Siyuan"),
    ]
    /// District codes of GB/T 2260 (Beijing, Shanghai, Guangzhou, Shenzhen, Hangzhou, Chengdu ...).
    static let regions = [
        "110101", "110105", "110108", "120101", "130102", "140105", "210102", "220102", "230102", "310101", "310104", "310115",
        "320102", "320506", "330102", "330106", "340102", "350102", "360102", "370102", "410102", "420102", "430102", "440103",
        "440106", "440304", "440305", "450102", "500103", "510104", "510107", "610113",
    ]
    static let mobilePrefixes = ["138", "139", "136", "158", "186", "177", "150", "189"]
    static let branches = (1...40).map { "BR-\(String(format: "%03d", $0))" }
    static let industries = ["C13 Food manufacturing", "C31 Steel", "F51 Wholesale", "G54 Road transport", "I65 Software", "K70 Real estate"]

    /// 1945-01-01 plus `days`.
    static func birthDate(days: Int) -> String {
        let date = Date(timeIntervalSince1970: -788_918_400 + Double(days) * 86_400)
        return CalendarDate.today(now: date).description
    }

    static func isCorporate(_ index: Int) -> Bool { index % 20 == 19 }

    /// The resident id of customer `index`: unique by construction (region from the low bits, birth
    /// date and sequence from the rest), gender in the sequence's parity as the standard has it.
    static func residentID(_ index: Int) -> (number: String, birthDate: String, male: Bool) {
        let region = regions[index % regions.count]
        let rest = index / regions.count
        let birth = birthDate(days: rest % 21_900)
        let male = index % 2 == 0
        let sequence = (rest / 21_900) * 2 + (male ? 1 : 0) + 10 * ((index / 7) % 40)
        let body = region + birth.replacingOccurrences(of: "-", with: "") + String(format: "%03d", sequence % 1000)
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(body.compactMap(\.wholeNumberValue), weights).reduce(0) { $0 + $1.0 * $1.1 }
        return (body + String(Array("10X98765432")[sum % 11]), birth, male)
    }

    /// A mobile number no other index has.
    static func phone(_ index: Int) -> String {
        mobilePrefixes[index % mobilePrefixes.count] + String(format: "%08d", index / mobilePrefixes.count)
    }

    /// A valid unified social credit code (GB 32100-2015) unique to `index`.
    static func creditCode(_ index: Int) -> String {
        let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
        let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
        var digits = Array("91" + regions[index % regions.count])
        var value = index
        var tail: [Character] = []
        for _ in 0..<9 {
            tail.append(alphabet[value % 31])
            value /= 31
        }
        digits += tail.reversed()
        let sum = zip(digits.map { alphabet.firstIndex(of: $0)! }, weights).reduce(0) { $0 + $1.0 * $1.1 }
        return String(digits) + String(alphabet[(31 - sum % 31) % 31])
    }

    static func profile(_ index: Int) -> Crm_Customer_V1_CustomerProfile {
        var profile = Crm_Customer_V1_CustomerProfile()
        profile.branchID = branches[index % branches.count]
        profile.relationshipManagerID = "RM\(String(format: "%04d", index % 800))"
        if isCorporate(index) {
            profile.kind = .corporate
            let (surname, _) = surnames[index % surnames.count]
            profile.corporate.legalName = "\(surname)氏\(["贸易", "实业", "科技", "物流", "建设"][index % 5])有限公司 \(index)"
            profile.corporate.industry = industries[index % industries.count]
            profile.corporate.size = .init(rawValue: 1 + index % 4) ?? .small
            var code = Crm_Customer_V1_IdentityDocument()
            code.type = .unifiedSocialCreditCode
            code.number = creditCode(index)
            profile.documents = [code]
        } else {
            profile.kind = .individual
            let (surname, surnameLatin) = surnames[(index / 3) % surnames.count]
            let (given, givenLatin) = givenNames[(index / 61) % givenNames.count]
            let id = residentID(index)
            profile.individual.nameZh = surname + given
            profile.individual.nameLatin = "\(surnameLatin) \(givenLatin)"
            profile.individual.birthDate = id.birthDate
            profile.individual.gender = id.male ? .male : .female
            profile.individual.nationality = "CHN"
            profile.individual.incomeBand = .init(rawValue: 1 + index % 5) ?? .below100K
            var document = Crm_Customer_V1_IdentityDocument()
            document.type = .prcResidentID
            document.number = id.number
            profile.documents = [document]
        }
        var mobile = Crm_Customer_V1_Contact()
        mobile.kind = .phone
        mobile.value = phone(index)
        mobile.primary = true
        profile.contacts = [mobile]
        if index % 5 < 2 {
            var email = Crm_Customer_V1_Contact()
            email.kind = .email
            email.value = "c\(index)@example.com"
            profile.contacts.append(email)
        }
        profile.preferredChannel = .init(rawValue: 1 + index % 6) ?? .phone
        return profile
    }

    /// One to four accounts; balances spread over four orders of magnitude.
    static func holdings(_ index: Int, customerID: String) -> [Crm_Customer_V1_AccountHolding] {
        let count = 1 + (index * 7) % 4
        let types: [Crm_Customer_V1_ProductType] = [.current, .timeDeposit, .card, .wealth, .loan]
        return (0..<count).map { slot in
            var holding = Crm_Customer_V1_AccountHolding()
            holding.accountNumber = "62" + String(format: "%014d", index * 4 + slot)
            holding.customerID = customerID
            holding.productType = types[(index + slot) % types.count]
            holding.role = .owner
            let scale = [1_000, 10_000, 100_000, 1_000_000][(index / 11 + slot) % 4]
            holding.balanceMinor = Int64(scale * (1 + (index * 31 + slot) % 97)) * 100
            holding.currency = "CNY"
            holding.reportingBalanceMinor = holding.balanceMinor
            holding.openedOn = birthDate(days: 20_000 + (index + slot * 97) % 7_000)
            if holding.productType == .timeDeposit { holding.maturityDate = "2027-\(String(format: "%02d", 1 + index % 12))-15" }
            holding.monthlyContributionMinor = holding.balanceMinor / 1_200
            return holding
        }
    }
}
