internal import WireProtocol
internal import CRMAPI

/// Masks the personal fields of an answer by the caller's ``MaskingPolicy``: each kind of field in
/// clear, partly masked (enough for a person to tell two customers apart), or withheld (empty).
/// Every method that returns personal data passes its answer through here.
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

    /// Each word's first character: `张三丰` becomes `张**`, `Zhang San` `Z**** S**`.
    static func maskName(_ name: String) -> String {
        name.split(separator: " ", omittingEmptySubsequences: false).map { word in
            word.isEmpty ? "" : String(word.first!) + String(repeating: "*", count: word.count - 1)
        }.joined(separator: " ")
    }

    /// `wang.wu@example.com` becomes `w******@example.com`.
    static func maskEmail(_ email: String) -> String {
        guard let at = email.lastIndex(of: "@"), at != email.startIndex else { return maskName(email) }
        let local = email[..<at]
        return String(local.first!) + String(repeating: "*", count: local.count - 1) + email[at...]
    }

    /// `1985-03-12` becomes `1985-**-**`.
    static func maskBirthDate(_ date: String) -> String {
        let year = date.prefix(4)
        return year.count == 4 && date.count == 10 ? year + "-**-**" : String(repeating: "*", count: date.count)
    }

    static func apply(_ value: String, _ treatment: MaskingPolicy.Treatment, partly: (String) -> String) -> String {
        switch treatment {
        case .clear: value
        case .partial: value.isEmpty ? "" : partly(value)
        case .withheld: ""
        }
    }

    /// City and province stay when partly masked; nothing stays when withheld.
    static func masked(_ address: Crm_Customer_V1_Address, _ treatment: MaskingPolicy.Treatment) -> Crm_Customer_V1_Address {
        switch treatment {
        case .clear:
            return address
        case .partial:
            var kept = Crm_Customer_V1_Address()
            (kept.city, kept.province, kept.country) = (address.city, address.province, address.country)
            return kept
        case .withheld:
            return Crm_Customer_V1_Address()
        }
    }

    /// The customer as `policy` shows it; `masked` tells the caller whether anything was hidden.
    static func masked(_ customer: Crm_Customer_V1_Customer, by policy: MaskingPolicy) -> Crm_Customer_V1_Customer {
        guard !policy.isClear else { return customer }
        var customer = customer
        let name = policy.treatment(of: .name)
        if customer.profile.hasIndividual {
            customer.profile.individual.nameZh = apply(customer.profile.individual.nameZh, name, partly: maskName)
            customer.profile.individual.nameLatin = apply(customer.profile.individual.nameLatin, name, partly: maskName)
            customer.profile.individual.birthDate = apply(
                customer.profile.individual.birthDate, policy.treatment(of: .birthDate), partly: maskBirthDate)
        }
        if customer.profile.hasCorporate {
            customer.profile.corporate.legalRepresentative = apply(customer.profile.corporate.legalRepresentative, name, partly: maskName)
        }
        let document = policy.treatment(of: .document)
        for index in customer.profile.documents.indices {
            customer.profile.documents[index].number = apply(customer.profile.documents[index].number, document, partly: maskDocumentNumber)
        }
        for index in customer.profile.contacts.indices {
            var contact = customer.profile.contacts[index]
            switch contact.kind {
            case .phone: contact.value = apply(contact.value, policy.treatment(of: .phone), partly: maskPhone)
            case .email: contact.value = apply(contact.value, policy.treatment(of: .email), partly: maskEmail)
            default: break
            }
            if contact.hasAddress { contact.address = masked(contact.address, policy.treatment(of: .address)) }
            customer.profile.contacts[index] = contact
        }
        customer.masked = true
        return customer
    }

    /// A search result: an individual's display name is a name; a company's is its legal name.
    static func masked(_ response: Crm_Customer_V1_SearchCustomersResponse, by policy: MaskingPolicy) -> Crm_Customer_V1_SearchCustomersResponse {
        let name = policy.treatment(of: .name)
        guard name != .clear else { return response }
        var response = response
        for index in response.customers.indices where response.customers[index].kind != .corporate {
            response.customers[index].displayName = apply(response.customers[index].displayName, name, partly: maskName)
        }
        return response
    }

    /// A household: its members' names and the household's own name, which usually carries theirs.
    static func masked(_ response: Crm_Customer_V1_HouseholdResponse, by policy: MaskingPolicy) -> Crm_Customer_V1_HouseholdResponse {
        let name = policy.treatment(of: .name)
        guard name != .clear else { return response }
        var response = response
        response.household.name = apply(response.household.name, name, partly: maskName)
        for index in response.household.members.indices {
            response.household.members[index].displayName = apply(response.household.members[index].displayName, name, partly: maskName)
        }
        return response
    }

    /// A customer change event as a subscriber through the gateway may see it.
    static func masked(_ event: Crm_Customer_V1_CustomerChanged, by policy: MaskingPolicy) -> Crm_Customer_V1_CustomerChanged {
        var event = event
        let name = policy.treatment(of: .name)
        if event.kind != .corporate {
            event.displayName = apply(event.displayName, name, partly: maskName)
            event.nameZh = apply(event.nameZh, name, partly: maskName)
            event.nameLatin = apply(event.nameLatin, name, partly: maskName)
        }
        event.birthDate = apply(event.birthDate, policy.treatment(of: .birthDate), partly: maskBirthDate)
        return event
    }
}
