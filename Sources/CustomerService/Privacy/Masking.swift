internal import WireProtocol

/// Hides identity numbers and phone numbers from callers whose role does not need them, keeping
/// enough (the first and last few characters) for a person to tell two customers apart.
enum Masking {
    /// Keeps the first `head` and last `tail` characters and stars the rest; short values are starred
    /// but for their last two characters.
    static func mask(_ value: String, head: Int, tail: Int) -> String {
        let characters = Array(value)
        guard characters.count > head + tail + 2 else {
            return String(repeating: "*", count: max(0, characters.count - 2)) + String(characters.suffix(2))
        }
        return String(characters.prefix(head)) + String(repeating: "*", count: characters.count - head - tail)
            + String(characters.suffix(tail))
    }

    static func maskDocumentNumber(_ number: String) -> String { mask(number, head: 3, tail: 4) }

    /// `+8613812345678` becomes `+86138****5678`.
    static func maskPhone(_ phone: String) -> String { mask(phone, head: 6, tail: 4) }

    /// The customer as a caller who does not see personal data may see it.
    static func masked(_ customer: Crm_Customer_V1_Customer) -> Crm_Customer_V1_Customer {
        var customer = customer
        for index in customer.profile.documents.indices {
            customer.profile.documents[index].number = maskDocumentNumber(customer.profile.documents[index].number)
        }
        for index in customer.profile.contacts.indices where customer.profile.contacts[index].kind == .phone {
            customer.profile.contacts[index].value = maskPhone(customer.profile.contacts[index].value)
        }
        customer.masked = true
        return customer
    }

    /// Whether an audited field's values are personal data to be masked in the same way.
    static func maskedAuditValue(field: String, value: String) -> String {
        if field.hasPrefix("documents") { return maskDocumentNumber(value) }
        if field.hasPrefix("contacts") && value.hasPrefix("+") { return maskPhone(value) }
        return value
    }
}
