internal import Foundation
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI

/// Turns a customer file (CSV with a header row, or JSON lines) into ``Crm_Customer_V1_ImportRow``s
/// for Customer.ImportCustomers. Rows that cannot even be read (an unknown enum word, a malformed
/// JSON line) become ``Entry/unreadable`` with their line, so they land in the report too.
public enum CustomerImportFile {
    public enum Format: String, Sendable, CaseIterable {
        case csv
        case jsonl
    }

    public enum Entry: Sendable, Equatable {
        case row(Crm_Customer_V1_ImportRow)
        case unreadable(line: UInt64, sourceID: String, problem: String)
    }

    public struct FileError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// The CSV columns, in the order the documentation lists them. `source_id` is required; the
    /// others may be left out or empty.
    public static let columns = [
        "source_id", "kind", "name_zh", "name_latin", "gender", "birth_date", "nationality", "occupation", "income_band",
        "legal_name", "registration_number", "industry", "company_size", "legal_representative",
        "document_type", "document_number", "document_country", "document_expiry",
        "phone", "email", "address_line1", "address_line2", "city", "province", "postal_code", "country",
        "preferred_channel", "relationship_manager_id", "branch_id",
    ]

    /// The words each enum column takes (case, spaces and dashes ignored).
    static let words: [String: [String: Int]] = [
        "kind": ["individual": 1, "corporate": 2],
        "gender": ["female": 1, "male": 2, "other": 3],
        "income_band": ["below_100k": 1, "100k_300k": 2, "300k_1m": 3, "1m_5m": 4, "5m_plus": 5],
        "company_size": ["micro": 1, "small": 2, "medium": 3, "large": 4],
        "document_type": [
            "prc_resident_id": 1, "passport": 2, "hk_macao_permit": 3, "taiwan_permit": 4, "foreign_permanent_resident": 5,
            "unified_social_credit_code": 6,
        ],
        "preferred_channel": ["phone": 1, "sms": 2, "email": 3, "mail": 4, "branch": 5, "digital": 6],
    ]

    public static func entries(_ bytes: [UInt8], format: Format) throws(FileError) -> [Entry] {
        switch format {
        case .csv: try csvEntries(bytes)
        case .jsonl: jsonLineEntries(bytes)
        }
    }

    // MARK: CSV

    static func csvEntries(_ bytes: [UInt8]) throws(FileError) -> [Entry] {
        var records = CSVRecords(bytes)
        guard let header = records.next() else { throw FileError(description: "the file is empty: a header row is required") }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if let unknown = names.first(where: { !columns.contains($0) }) {
            throw FileError(description: "unknown column \"\(unknown)\"; the columns are: \(columns.joined(separator: ", "))")
        }
        guard names.contains("source_id") else { throw FileError(description: "the header has no source_id column") }
        if let repeated = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw FileError(description: "column \"\(repeated)\" appears twice")
        }
        var entries: [Entry] = []
        while let record = records.next() {
            guard record.fields.count == names.count else {
                let sourceID = names.firstIndex(of: "source_id").flatMap { $0 < record.fields.count ? record.fields[$0] : nil } ?? ""
                entries.append(
                    .unreadable(line: UInt64(record.line), sourceID: sourceID, problem: "has \(record.fields.count) fields, the header \(names.count)"))
                continue
            }
            var values: [String: String] = [:]
            for (name, value) in zip(names, record.fields) { values[name] = value.trimmingCharacters(in: .whitespaces) }
            entries.append(entry(line: UInt64(record.line), values))
        }
        if let error = records.error { throw FileError(description: error.description) }
        return entries
    }

    static func entry(line: UInt64, _ values: [String: String]) -> Entry {
        let sourceID = values["source_id"] ?? ""
        var enums: [String: Int] = [:]
        for (column, known) in words {
            guard let text = values[column], !text.isEmpty else { continue }
            let word = text.lowercased().replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: " ", with: "_")
            guard let value = known[word] else {
                return .unreadable(
                    line: line, sourceID: sourceID, problem: "\(column): \"\(text)\" is not one of \(known.keys.sorted().joined(separator: ", "))")
            }
            enums[column] = value
        }
        func text(_ column: String) -> String { values[column] ?? "" }
        var row = Crm_Customer_V1_ImportRow()
        row.line = line
        row.sourceID = sourceID
        var profile = Crm_Customer_V1_CustomerProfile()
        profile.kind = .init(rawValue: enums["kind"] ?? 1) ?? .individual
        if profile.kind == .individual {
            profile.individual.nameZh = text("name_zh")
            profile.individual.nameLatin = text("name_latin")
            profile.individual.gender = .init(rawValue: enums["gender"] ?? 0) ?? .unspecified
            profile.individual.birthDate = text("birth_date")
            profile.individual.nationality = text("nationality")
            profile.individual.occupation = text("occupation")
            profile.individual.incomeBand = .init(rawValue: enums["income_band"] ?? 0) ?? .unspecified
        } else {
            profile.corporate.legalName = text("legal_name")
            profile.corporate.registrationNumber = text("registration_number")
            profile.corporate.industry = text("industry")
            profile.corporate.size = .init(rawValue: enums["company_size"] ?? 0) ?? .unspecified
            profile.corporate.legalRepresentative = text("legal_representative")
        }
        if !text("document_number").isEmpty || enums["document_type"] != nil {
            var document = Crm_Customer_V1_IdentityDocument()
            document.type = .init(rawValue: enums["document_type"] ?? 0) ?? .unspecified
            document.number = text("document_number")
            document.issuingCountry = text("document_country")
            document.expiryDate = text("document_expiry")
            profile.documents.append(document)
        }
        for (kind, column) in [(Crm_Customer_V1_ContactKind.phone, "phone"), (.email, "email")] where !text(column).isEmpty {
            var contact = Crm_Customer_V1_Contact()
            contact.kind = kind
            contact.value = text(column)
            contact.primary = true
            profile.contacts.append(contact)
        }
        if !(text("address_line1") + text("city")).isEmpty {
            var contact = Crm_Customer_V1_Contact()
            contact.kind = .address
            contact.address.line1 = text("address_line1")
            contact.address.line2 = text("address_line2")
            contact.address.city = text("city")
            contact.address.province = text("province")
            contact.address.postalCode = text("postal_code")
            contact.address.country = text("country")
            contact.primary = true
            profile.contacts.append(contact)
        }
        profile.preferredChannel = .init(rawValue: enums["preferred_channel"] ?? 0) ?? .unspecified
        profile.relationshipManagerID = text("relationship_manager_id")
        profile.branchID = text("branch_id")
        row.profile = profile
        return .row(row)
    }

    // MARK: Problems by column

    /// A problem the service reported for a row made from a CSV file (`profile.individual.birthDate:
    /// must be ...`), with the file's column in place of the protobuf path (`birth_date: must be ...`).
    /// A path no column makes stays as it is.
    public static func inColumns(_ problem: String, row: Crm_Customer_V1_ImportRow) -> String {
        guard let colon = problem.range(of: ": ") else { return problem }
        let path = String(problem[..<colon.lowerBound])
        guard let column = column(of: path, row: row) else { return problem }
        return column + problem[colon.lowerBound...]
    }

    /// The CSV column a field path of ``entry(line:_:)``'s profile came from.
    static func column(of path: String, row: Crm_Customer_V1_ImportRow) -> String? {
        let fixed: [String: String] = [
            "sourceId": "source_id", "profile.kind": "kind", "profile.individual.nameZh": "name_zh",
            "profile.individual.nameLatin": "name_latin", "profile.individual.gender": "gender",
            "profile.individual.birthDate": "birth_date", "profile.individual.nationality": "nationality",
            "profile.individual.occupation": "occupation", "profile.individual.incomeBand": "income_band",
            "profile.individual": "name_zh", "profile.corporate": "legal_name",
            "profile.corporate.legalName": "legal_name", "profile.corporate.registrationNumber": "registration_number",
            "profile.corporate.industry": "industry", "profile.corporate.size": "company_size",
            "profile.corporate.legalRepresentative": "legal_representative", "profile.preferredChannel": "preferred_channel",
            "profile.relationshipManagerId": "relationship_manager_id", "profile.branchId": "branch_id",
            "profile.documents": "document_number", "profile.contacts": "phone",
        ]
        if let column = fixed[path] { return column }
        // The one document: profile.documents[0].number -> document_number.
        if path.hasPrefix("profile.documents[0]") {
            let documentColumns = ["type": "document_type", "number": "document_number", "issuingCountry": "document_country", "expiryDate": "document_expiry"]
            return documentColumns[String(path.dropFirst("profile.documents[0].".count))] ?? "document_number"
        }
        // Contacts in the order the row made them: phone, e-mail, address (those present).
        guard path.hasPrefix("profile.contacts["), let close = path.firstIndex(of: "]"),
            let index = Int(path[path.index(path.startIndex, offsetBy: "profile.contacts[".count)..<close]),
            index < row.profile.contacts.count
        else { return nil }
        let rest = path[path.index(after: close)...]
        switch row.profile.contacts[index].kind {
        case .phone: return "phone"
        case .email: return "email"
        case .address:
            let addressColumns = [
                ".address.line1": "address_line1", ".address.line2": "address_line2", ".address.city": "city",
                ".address.province": "province", ".address.postalCode": "postal_code", ".address.country": "country",
            ]
            return addressColumns[String(rest)] ?? "address_line1"
        default: return nil
        }
    }

    // MARK: JSON lines

    /// One ImportRow per line in protobuf's JSON mapping (`{"sourceId": "...", "profile": {...}}`);
    /// the line number is set from the file.
    static func jsonLineEntries(_ bytes: [UInt8]) -> [Entry] {
        var entries: [Entry] = []
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = false
        for (index, slice) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let text = String(decoding: slice, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { continue }
            let line = UInt64(index + 1)
            do {
                var row = try Crm_Customer_V1_ImportRow(jsonString: text, options: options)
                row.line = line
                entries.append(.row(row))
            } catch {
                entries.append(.unreadable(line: line, sourceID: "", problem: "not an ImportRow in JSON: \(error)"))
            }
        }
        return entries
    }
}
