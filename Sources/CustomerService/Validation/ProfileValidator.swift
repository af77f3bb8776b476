internal import ServiceRuntime
internal import Foundation
internal import WireProtocol
internal import CRMAPI

/// The limits of a customer profile (also written in customer.proto's comments).
enum ProfileLimits {
    static let maxDocuments = 10
    static let maxContacts = 20
    static let earliestBirthDate = CalendarDate(year: 1900, month: 1, day: 1)!
}

/// Checks a profile a caller sent and returns it in normal form (trimmed text, upper-cased document
/// numbers, E.164 phones, lower-cased emails), or throws INVALID_ARGUMENT naming every bad field.
struct ProfileValidator {
    var today: CalendarDate

    func validated(_ input: Crm_Customer_V1_CustomerProfile, field prefix: String = "profile") throws -> Crm_Customer_V1_CustomerProfile {
        var problems = FieldViolations()
        var profile = Crm_Customer_V1_CustomerProfile()
        profile.kind = input.kind
        switch input.kind {
        case .individual:
            if input.hasCorporate { problems.add("\(prefix).corporate", "must be empty for an individual") }
            profile.individual = individual(input.individual, "\(prefix).individual", &problems)
        case .corporate:
            if input.hasIndividual { problems.add("\(prefix).individual", "must be empty for a corporate") }
            profile.corporate = corporate(input.corporate, "\(prefix).corporate", &problems)
        case .unspecified:
            problems.add("\(prefix).kind", "is required")
        case .UNRECOGNIZED:
            problems.add("\(prefix).kind", "is not a known value")
        }

        if input.documents.count > ProfileLimits.maxDocuments {
            problems.add("\(prefix).documents", "must hold at most \(ProfileLimits.maxDocuments) documents")
        } else {
            var seen: Set<String> = []
            for (index, document) in input.documents.enumerated() {
                let checked = self.document(document, kind: input.kind, birthDate: profile.individual.birthDate, "\(prefix).documents[\(index)]", &problems)
                if !seen.insert("\(checked.type.rawValue):\(checked.number)").inserted {
                    problems.add("\(prefix).documents[\(index)]", "repeats an earlier document")
                }
                profile.documents.append(checked)
            }
        }

        if input.contacts.count > ProfileLimits.maxContacts {
            problems.add("\(prefix).contacts", "must hold at most \(ProfileLimits.maxContacts) contacts")
        } else {
            var primaryKinds: Set<Int> = []
            for (index, contact) in input.contacts.enumerated() {
                let checked = self.contact(contact, "\(prefix).contacts[\(index)]", &problems)
                if checked.primary && !primaryKinds.insert(checked.kind.rawValue).inserted {
                    problems.add("\(prefix).contacts[\(index)].primary", "only one contact of each kind may be primary")
                }
                profile.contacts.append(checked)
            }
        }

        if case .UNRECOGNIZED = input.preferredChannel { problems.add("\(prefix).preferredChannel", "is not a known value") }
        profile.preferredChannel = input.preferredChannel
        profile.relationshipManagerID = problems.code(input.relationshipManagerID, "\(prefix).relationshipManagerId", max: 20)
        profile.branchID = problems.code(input.branchID, "\(prefix).branchId", max: 20)
        try problems.throwIfAny()
        return profile
    }

    private func individual(_ input: Crm_Customer_V1_Individual, _ field: String, _ problems: inout FieldViolations) -> Crm_Customer_V1_Individual {
        var person = Crm_Customer_V1_Individual()
        person.nameZh = problems.text(input.nameZh, "\(field).nameZh", max: 50)
        person.nameLatin = problems.text(input.nameLatin, "\(field).nameLatin", max: 100)
        if person.nameZh.isEmpty && person.nameLatin.isEmpty {
            problems.add("\(field).nameZh", "a name in Chinese or Latin script is required")
        }
        if case .UNRECOGNIZED = input.gender { problems.add("\(field).gender", "is not a known value") }
        person.gender = input.gender
        if !input.birthDate.isEmpty {
            if let date = CalendarDate(iso: input.birthDate) {
                if date < ProfileLimits.earliestBirthDate || date > today {
                    problems.add("\(field).birthDate", "must be between 1900-01-01 and today")
                }
                person.birthDate = date.description
            } else {
                problems.add("\(field).birthDate", "must be a real date written YYYY-MM-DD")
            }
        }
        person.nationality = problems.country(input.nationality, "\(field).nationality")
        person.occupation = problems.text(input.occupation, "\(field).occupation", max: 100)
        if case .UNRECOGNIZED = input.incomeBand { problems.add("\(field).incomeBand", "is not a known value") }
        person.incomeBand = input.incomeBand
        return person
    }

    private func corporate(_ input: Crm_Customer_V1_Corporate, _ field: String, _ problems: inout FieldViolations) -> Crm_Customer_V1_Corporate {
        var company = Crm_Customer_V1_Corporate()
        company.legalName = problems.text(input.legalName, "\(field).legalName", max: 200, required: true)
        company.registrationNumber = problems.text(input.registrationNumber, "\(field).registrationNumber", max: 50)
        company.industry = problems.text(input.industry, "\(field).industry", max: 100)
        if case .UNRECOGNIZED = input.size { problems.add("\(field).size", "is not a known value") }
        company.size = input.size
        company.legalRepresentative = problems.text(input.legalRepresentative, "\(field).legalRepresentative", max: 100)
        return company
    }

    private func document(
        _ input: Crm_Customer_V1_IdentityDocument, kind: Crm_Customer_V1_CustomerKind, birthDate: String, _ field: String,
        _ problems: inout FieldViolations
    ) -> Crm_Customer_V1_IdentityDocument {
        var document = Crm_Customer_V1_IdentityDocument()
        document.type = input.type
        let raw = input.number
        if raw.unicodeScalars.count > 40 {
            problems.add("\(field).number", "must be at most 40 characters")
            return document
        }
        document.number = DocumentNumbers.normalize(raw)
        document.issuingCountry = problems.country(input.issuingCountry, "\(field).issuingCountry", defaultValue: "CHN")
        if !input.expiryDate.isEmpty {
            if let date = CalendarDate(iso: input.expiryDate) {
                document.expiryDate = date.description
            } else {
                problems.add("\(field).expiryDate", "must be a real date written YYYY-MM-DD")
            }
        }
        if document.number.isEmpty {
            problems.add("\(field).number", "is required")
            return document
        }
        switch input.type {
        case .unspecified:
            problems.add("\(field).type", "is required")
        case .UNRECOGNIZED:
            problems.add("\(field).type", "is not a known value")
        case .unifiedSocialCreditCode:
            if kind == .individual { problems.add("\(field).type", "a unified social credit code belongs to an organisation") }
            if let problem = DocumentNumbers.unifiedSocialCreditCodeProblem(document.number) {
                problems.add("\(field).number", problem)
            }
        case .prcResidentID:
            if kind == .corporate { problems.add("\(field).type", "a resident identity card belongs to a person") }
            if let problem = DocumentNumbers.prcResidentIDProblem(document.number, today: today) {
                problems.add("\(field).number", problem)
            } else if !birthDate.isEmpty, let encoded = DocumentNumbers.prcResidentIDBirthDate(document.number),
                encoded.description != birthDate
            {
                problems.add("\(field).number", "encodes the birth date \(encoded), not \(birthDate)")
            }
        case .passport, .hkMacaoPermit, .taiwanPermit, .foreignPermanentResident:
            if kind == .corporate { problems.add("\(field).type", "a personal document belongs to a person") }
            if let problem = DocumentNumbers.formatProblem(document.number, type: input.type) {
                problems.add("\(field).number", problem)
            }
        }
        return document
    }

    private func contact(_ input: Crm_Customer_V1_Contact, _ field: String, _ problems: inout FieldViolations) -> Crm_Customer_V1_Contact {
        var contact = Crm_Customer_V1_Contact()
        contact.kind = input.kind
        contact.primary = input.primary
        contact.label = problems.text(input.label, "\(field).label", max: 30)
        switch input.kind {
        case .phone:
            if let phone = ContactPoints.normalizedPhone(input.value), input.value.unicodeScalars.count <= 30 {
                contact.value = phone
            } else {
                problems.add("\(field).value", "must be a phone number: + and 7 to 15 digits, or an 11-digit mainland mobile")
            }
        case .email:
            if let email = ContactPoints.normalizedEmail(input.value) {
                contact.value = email
            } else {
                problems.add("\(field).value", "must be an email address")
            }
        case .address:
            if !input.value.isEmpty { problems.add("\(field).value", "must be empty for an address (use address)") }
            let address = input.address
            var checked = Crm_Customer_V1_Address()
            checked.line1 = problems.text(address.line1, "\(field).address.line1", max: 200, required: true)
            checked.line2 = problems.text(address.line2, "\(field).address.line2", max: 200)
            checked.city = problems.text(address.city, "\(field).address.city", max: 100, required: true)
            checked.province = problems.text(address.province, "\(field).address.province", max: 100)
            checked.postalCode = problems.code(address.postalCode, "\(field).address.postalCode", max: 20)
            checked.country = problems.country(address.country, "\(field).address.country", defaultValue: "CHN")
            contact.address = checked
        case .unspecified:
            problems.add("\(field).kind", "is required")
        case .UNRECOGNIZED:
            problems.add("\(field).kind", "is not a known value")
        }
        if input.kind != .address && input.hasAddress { problems.add("\(field).address", "is only for kind ADDRESS") }
        return contact
    }
}
