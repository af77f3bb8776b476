internal import Foundation
internal import GRDB
internal import ServiceRuntime
internal import WireProtocol
internal import CRMAPI

/// Reads and writes customers' rows. Every function runs inside the caller's transaction; the
/// rules (validation, versions, audit) live in ``CustomerDirectory``.
enum CustomerRecords {
    // MARK: Identifiers

    /// "C" and the key in 10 digits: `C0000000042`.
    static func customerID(_ key: Int64) -> String {
        let digits = String(key)
        return "C" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    /// The key of a customer id, or nil if the id is not of the form `C` and 10 digits.
    static func key(fromID id: String) -> Int64? {
        let scalars = Array(id.unicodeScalars)
        guard scalars.count == 11, scalars[0] == "C", scalars.dropFirst().allSatisfy({ ("0"..."9").contains($0) }),
            let key = Int64(String(id.dropFirst())), key > 0
        else { return nil }
        return key
    }

    /// Lower-cased, with white space removed: the form names are searched in.
    static func nameKey(_ name: String) -> String {
        String(String.UnicodeScalarView(name.lowercased().unicodeScalars.filter { !$0.properties.isWhitespace }))
    }

    static func displayName(_ profile: Crm_Customer_V1_CustomerProfile) -> String {
        switch profile.kind {
        case .corporate: return profile.corporate.legalName
        default: return profile.individual.nameZh.isEmpty ? profile.individual.nameLatin : profile.individual.nameZh
        }
    }

    // MARK: Writing

    /// Inserts a new customer with its documents and contacts; returns its key.
    static func insert(_ profile: Crm_Customer_V1_CustomerProfile, lifecycle: Crm_Customer_V1_LifecycleStage, now: Int64, _ db: Database) throws -> Int64 {
        let pinyin = Pinyin(of: pinyinSource(profile))
        try db.cachedStatement(
            sql: """
                INSERT INTO customer (kind, status, version, display_name, name_zh_key, name_latin_key, name_zh, name_latin, gender,
                    birth_date, nationality, occupation, income_band, legal_name, registration_number, industry, company_size,
                    legal_representative, preferred_channel, relationship_manager_id, branch_id, lifecycle_stage,
                    created_at_ms, updated_at_ms, name_pinyin_key, name_initials_key)
                VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: StatementArguments([profile.kind.rawValue, Crm_Customer_V1_CustomerStatus.active.rawValue]) + profileArguments(profile)
                + [lifecycle.rawValue, now, now, pinyin.full, pinyin.initials])
        let key = db.lastInsertedRowID
        try insertChildren(profile, customerKey: key, db)
        try NameVariants.replace(customerKey: key, names: nameKeys(profile, pinyin: pinyin), db)
        return key
    }

    /// Replaces a customer's profile, documents and contacts with `profile` and sets its version;
    /// `previous` is the profile stored. Only what changed is written: the row's changed columns
    /// (SQLite rewrites the entry of every index on a column an UPDATE sets, changed or not, and
    /// nine indexes cover the profile's columns), and the documents, contacts and name variants
    /// only when they changed (most updates touch none of them).
    static func replaceProfile(
        key: Int64, _ profile: Crm_Customer_V1_CustomerProfile, previous: Crm_Customer_V1_CustomerProfile, version: Int64, now: Int64,
        _ db: Database
    ) throws {
        let (values, before) = (profileValues(profile), profileValues(previous))
        var columns = profileColumns.indices.filter { values[$0] != before[$0] }.map { (profileColumns[$0], values[$0]) }
        // Names' search data is derived again only when a name changed (reading the pinyin costs
        // tens of microseconds; most updates leave names alone).
        let namesChanged =
            pinyinSource(profile) != pinyinSource(previous) || writtenNameKeys(profile) != writtenNameKeys(previous)
        let pinyin = namesChanged ? Pinyin(of: pinyinSource(profile)) : nil
        if let pinyin {
            columns += [("name_pinyin_key", pinyin.full.databaseValue), ("name_initials_key", pinyin.initials.databaseValue)]
        }
        let assignments = (columns.map { "\($0.0) = ?" } + ["version = ?", "updated_at_ms = ?"]).joined(separator: ", ")
        try db.cachedStatement(sql: "UPDATE customer SET \(assignments) WHERE key = ?")
            .execute(arguments: StatementArguments(columns.map(\.1)) + [version, now, key])
        if profile.documents != previous.documents || profile.contacts != previous.contacts {
            try db.cachedStatement(sql: "DELETE FROM customer_document WHERE customer_key = ?").execute(arguments: [key])
            try db.cachedStatement(sql: "DELETE FROM customer_contact WHERE customer_key = ?").execute(arguments: [key])
            try insertChildren(profile, customerKey: key, db)
        }
        if let pinyin {
            try NameVariants.replace(customerKey: key, names: nameKeys(profile, pinyin: pinyin), db)
        }
    }

    /// The search keys of a profile's names, for ``NameVariants``: its names as written and the
    /// pinyin of its Chinese name (so that 张山 finds 张三 and 张珊 through "zhangshan").
    static func nameKeys(_ profile: Crm_Customer_V1_CustomerProfile, pinyin: Pinyin) -> [String] {
        writtenNameKeys(profile) + [pinyin.full]
    }

    private static func writtenNameKeys(_ profile: Crm_Customer_V1_CustomerProfile) -> [String] {
        [nameKey(profile.individual.nameZh), nameKey(profile.individual.nameLatin), nameKey(profile.corporate.legalName)]
    }

    /// Derives a customer's name search data (pinyin keys, name variants) again from its stored
    /// name columns: after its names were erased, or for rows written before pinyin was kept.
    static func refreshNameSearch(key: Int64, _ db: Database) throws {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT kind, name_zh, name_zh_key, name_latin_key, legal_name FROM customer WHERE key = ?"), arguments: [key])
        else { return }
        let legalName: String = row["legal_name"]
        let corporate = row["kind"] == Crm_Customer_V1_CustomerKind.corporate.rawValue
        let pinyin = Pinyin(of: corporate ? legalName : row["name_zh"])
        try db.cachedStatement(sql: "UPDATE customer SET name_pinyin_key = ?, name_initials_key = ? WHERE key = ?")
            .execute(arguments: [pinyin.full, pinyin.initials, key])
        try NameVariants.replace(customerKey: key, names: [row["name_zh_key"], row["name_latin_key"], nameKey(legalName), pinyin.full], db)
    }

    /// The name pinyin is read from: a person's Chinese name, a company's legal name (``Pinyin``
    /// gives empty keys when it has no Chinese characters).
    static func pinyinSource(_ profile: Crm_Customer_V1_CustomerProfile) -> String {
        profile.kind == .corporate ? profile.corporate.legalName : profile.individual.nameZh
    }

    static func setStatus(key: Int64, _ status: Crm_Customer_V1_CustomerStatus, version: Int64, now: Int64, _ db: Database) throws {
        try db.cachedStatement(
            sql: "UPDATE customer SET status = ?, version = ?, updated_at_ms = ? WHERE key = ?").execute(arguments: [status.rawValue, version, now, key])
        let live = status == .active || status == .inactive
        try db.cachedStatement(sql: "UPDATE customer_document SET live = ? WHERE customer_key = ?").execute(arguments: [live, key])
    }

    /// The customer row's columns a profile sets, in the order of ``profileValues(_:)``.
    private static let profileColumns = [
        "display_name", "name_zh_key", "name_latin_key", "name_zh", "name_latin", "gender", "birth_date", "nationality", "occupation",
        "income_band", "legal_name", "registration_number", "industry", "company_size", "legal_representative", "preferred_channel",
        "relationship_manager_id", "branch_id",
    ]

    private static func profileValues(_ profile: Crm_Customer_V1_CustomerProfile) -> [DatabaseValue] {
        let person = profile.individual
        let company = profile.corporate
        let values: [any DatabaseValueConvertible] = [
            displayName(profile), nameKey(person.nameZh), nameKey(person.nameLatin), person.nameZh, person.nameLatin,
            person.gender.rawValue, person.birthDate, person.nationality, person.occupation, person.incomeBand.rawValue,
            company.legalName, company.registrationNumber, company.industry, company.size.rawValue,
            company.legalRepresentative, profile.preferredChannel.rawValue, profile.relationshipManagerID, profile.branchID,
        ]
        return values.map(\.databaseValue)
    }

    private static func profileArguments(_ profile: Crm_Customer_V1_CustomerProfile) -> StatementArguments {
        StatementArguments(profileValues(profile))
    }

    private static func insertChildren(_ profile: Crm_Customer_V1_CustomerProfile, customerKey: Int64, _ db: Database) throws {
        for (position, document) in profile.documents.enumerated() {
            try db.cachedStatement(
                sql: """
                    INSERT INTO customer_document (customer_key, position, type, number, issuing_country, expiry_date, live)
                    VALUES (?, ?, ?, ?, ?, ?, 1)
                    """).execute(arguments: [customerKey, position, document.type.rawValue, document.number, document.issuingCountry, document.expiryDate])
        }
        for (position, contact) in profile.contacts.enumerated() {
            let address = contact.address
            try db.cachedStatement(
                sql: """
                    INSERT INTO customer_contact (customer_key, position, kind, value, label, is_primary, line1, line2, city,
                        province, postal_code, country)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [
                    customerKey, position, contact.kind.rawValue, contact.value, contact.label, contact.primary, address.line1,
                    address.line2, address.city, address.province, address.postalCode, address.country,
                ])
        }
    }

    // MARK: Reading

    /// The customer with this key, as stored (unmasked), or nil.
    static func load(key: Int64, _ db: Database) throws -> Crm_Customer_V1_Customer? {
        guard var customer = try StatementRow.readFirst(db.cachedStatement(sql: "SELECT * FROM customer WHERE key = ?"), arguments: [key], { row in
            customerWithoutChildren(key: key, row)
        }) else { return nil }
        // The profile is taken out, filled and put back: `customer.profile.documents = ...` would
        // copy the profile's storage for each of its two lists (SwiftProtobuf gives a message field
        // no in-place access).
        var profile = customer.profile
        customer.clearProfile()
        profile.documents = try StatementRow.readAll(
            db.cachedStatement(sql: "SELECT * FROM customer_document WHERE customer_key = ? ORDER BY position"), arguments: [key]
        ) { row in
            var document = Crm_Customer_V1_IdentityDocument()
            document.type = .init(rawValue: row["type"]) ?? .unspecified
            document.number = row["number"]
            document.issuingCountry = row["issuing_country"]
            document.expiryDate = row["expiry_date"]
            return document
        }
        profile.contacts = try StatementRow.readAll(
            db.cachedStatement(sql: "SELECT * FROM customer_contact WHERE customer_key = ? ORDER BY position"), arguments: [key]
        ) { row in
            var contact = Crm_Customer_V1_Contact()
            contact.kind = .init(rawValue: row["kind"]) ?? .unspecified
            contact.value = row["value"]
            contact.label = row["label"]
            contact.primary = row["is_primary"]
            if contact.kind == .address {
                var address = Crm_Customer_V1_Address()
                address.line1 = row["line1"]
                address.line2 = row["line2"]
                address.city = row["city"]
                address.province = row["province"]
                address.postalCode = row["postal_code"]
                address.country = row["country"]
                contact.address = address
            }
            return contact
        }
        customer.profile = profile
        return customer
    }

    /// The customer's own row as a customer, without its documents and contacts.
    private static func customerWithoutChildren(key: Int64, _ row: StatementRow) -> Crm_Customer_V1_Customer {
        var customer = Crm_Customer_V1_Customer()
        customer.id = customerID(key)
        customer.status = .init(rawValue: row["status"]) ?? .unspecified
        customer.version = row["version"]
        customer.valueGrade = row["value_grade"]
        customer.creditGrade = row["credit_grade"]
        customer.lifecycleStage = .init(rawValue: row["lifecycle_stage"]) ?? .unspecified
        customer.lifecycleReason = row["lifecycle_reason"]
        if let mergedInto: Int64 = row["merged_into"] { customer.mergedInto = customerID(mergedInto) }
        customer.createdAt.milliseconds = row["created_at_ms"]
        customer.updatedAt.milliseconds = row["updated_at_ms"]

        var profile = Crm_Customer_V1_CustomerProfile()
        profile.kind = .init(rawValue: row["kind"]) ?? .unspecified
        if profile.kind == .corporate {
            var company = Crm_Customer_V1_Corporate()
            company.legalName = row["legal_name"]
            company.registrationNumber = row["registration_number"]
            company.industry = row["industry"]
            company.size = .init(rawValue: row["company_size"]) ?? .unspecified
            company.legalRepresentative = row["legal_representative"]
            profile.corporate = company
        } else {
            var person = Crm_Customer_V1_Individual()
            person.nameZh = row["name_zh"]
            person.nameLatin = row["name_latin"]
            person.gender = .init(rawValue: row["gender"]) ?? .unspecified
            person.birthDate = row["birth_date"]
            person.nationality = row["nationality"]
            person.occupation = row["occupation"]
            person.incomeBand = .init(rawValue: row["income_band"]) ?? .unspecified
            profile.individual = person
        }
        profile.preferredChannel = .init(rawValue: row["preferred_channel"]) ?? .unspecified
        profile.relationshipManagerID = row["relationship_manager_id"]
        profile.branchID = row["branch_id"]
        customer.profile = profile
        return customer
    }

    /// The live customer other than `excluding` holding this document, if any.
    static func liveHolder(of document: Crm_Customer_V1_IdentityDocument, excluding: Int64?, _ db: Database) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement( sql: "SELECT customer_key FROM customer_document WHERE type = ? AND number = ? AND live = 1 AND customer_key IS NOT ?"),
            arguments: [document.type.rawValue, document.number, excluding])
    }
}
