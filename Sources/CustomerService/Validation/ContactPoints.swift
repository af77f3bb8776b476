internal import ServiceRuntime

/// Normal forms of phone numbers and email addresses, so that the same number written two ways is
/// stored, searched and matched as one.
enum ContactPoints {
    /// E.164 (`+` and 7 to 15 digits, no leading zero), or nil if the value is not a phone number.
    /// Spaces, hyphens, dots and parentheses are dropped; an 11-digit mainland mobile number
    /// (starting with 1) gets `+86`; a leading `00` becomes `+`.
    static func normalizedPhone(_ value: String) -> String? {
        var digits = ""
        var plus = false
        for (index, scalar) in value.unicodeScalars.enumerated() {
            switch scalar {
            case "0"..."9": digits.unicodeScalars.append(scalar)
            case "+" where index == 0: plus = true
            case " ", "-", ".", "(", ")": continue
            default: return nil
            }
        }
        if !plus {
            if digits.count == 11 && digits.hasPrefix("1") {
                digits = "86" + digits
            } else if digits.hasPrefix("00") {
                digits.removeFirst(2)
            } else {
                return nil
            }
        }
        guard (7...15).contains(digits.count), digits.first != "0" else { return nil }
        return "+" + digits
    }

    /// The address lower-cased, or nil if it is not `local@domain.tld` within RFC 5321's lengths.
    static func normalizedEmail(_ value: String) -> String? {
        let email = value.trimmingWhitespace().lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.utf8.count <= 254, parts.count == 2 else { return nil }
        let local = parts[0]
        let domain = parts[1]
        let allowedLocal: (Unicode.Scalar) -> Bool = {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "!#$%&'*+/=?^_`{|}~.-".unicodeScalars.contains($0))
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard !local.isEmpty, local.utf8.count <= 64, local.unicodeScalars.allSatisfy(allowedLocal),
            !local.hasPrefix("."), !local.hasSuffix("."), !local.contains(".."),
            labels.count >= 2,
            labels.allSatisfy({ label in
                !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                    && label.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }
            })
        else { return nil }
        return email
    }
}
