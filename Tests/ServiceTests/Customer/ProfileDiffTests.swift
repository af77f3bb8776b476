@testable import CustomerService
import Testing
import WireProtocol
internal import CRMAPI

/// The update's audit rows come from `ProfileDiff.profileChanges`, which compares the top-level
/// scalars directly and walks only the parts that differ; the reference is the plain JSON diff of
/// the whole profiles, which it must always equal.
@Suite("Profile diff")
struct ProfileDiffTests {
    /// One edit of a profile each: scalars, enums (an unknown value too), names, documents, contacts.
    static let edits: [(String, @Sendable (inout Crm_Customer_V1_CustomerProfile) -> Void)] = [
        ("nothing", { _ in }),
        ("channel", { $0.preferredChannel = .sms }),
        ("channel cleared", { $0.preferredChannel = .unspecified }),
        ("channel unknown", { $0.preferredChannel = .UNRECOGNIZED(42) }),
        ("kind", { $0.kind = .corporate }),
        ("kind cleared", { $0.kind = .unspecified }),
        ("manager", { $0.relationshipManagerID = "RM007" }),
        ("manager cleared", { $0.relationshipManagerID = "" }),
        ("branch", { $0.branchID = "SH-02" }),
        ("branch with quotes and CJK", { $0.branchID = "上海 \"2\"\\" }),
        ("latin name", { $0.individual.nameLatin = "Wang Liu" }),
        ("individual cleared", { $0.clearIndividual() }),
        ("corporate", { $0.corporate.legalName = "Acme Ltd" }),
        ("document number", { profile in
            // After "documents cleared" there is no first document to edit.
            for index in profile.documents.indices { profile.documents[index].number = "110105194912310021" }
        }),
        ("documents cleared", { $0.documents = [] }),
        ("second contact", {
            var contact = Crm_Customer_V1_Contact()
            (contact.kind, contact.value) = (.email, "a@example.com")
            $0.contacts.append(contact)
        }),
        ("contact address", {
            $0.contacts[0].kind = .address
            $0.contacts[0].address.city = "北京"
        }),
    ]

    @Test("every profile of one or two edits against the base and every one-edit profile, both ways: the same changes, in the same order, as the JSON diff of the whole profiles")
    func sameAsWholeProfileDiff() {
        let base = Profiles.individual(email: "z@example.com")
        var profiles: [(String, Crm_Customer_V1_CustomerProfile)] = []
        for (first, edit) in Self.edits {
            for (second, other) in Self.edits {
                var profile = base
                edit(&profile)
                other(&profile)
                profiles.append(("\(first) + \(second)", profile))
            }
        }
        var compared = 0
        // The first `edits.count` profiles are "nothing + one edit".
        let oneEdit = Array(profiles.prefix(Self.edits.count))
        for (name, profile) in profiles {
            for (otherName, other) in [("base", base)] + oneEdit {
                let fast = ProfileDiff.profileChanges(from: other, to: profile)
                let reference = ProfileDiff.changes(from: other, to: profile)
                #expect(fast == reference, "\(otherName) -> \(name)")
                #expect(ProfileDiff.profileChanges(from: profile, to: other) == ProfileDiff.changes(from: profile, to: other), "\(name) -> \(otherName)")
                compared += 1
            }
        }
        #expect(compared == profiles.count * (Self.edits.count + 1))
    }

    @Test("a channel change alone: one change, the enum's JSON names, nothing else")
    func channelAlone() {
        var before = Profiles.individual()
        before.preferredChannel = .email
        var after = before
        after.preferredChannel = .sms
        #expect(ProfileDiff.profileChanges(from: before, to: after) == [.init(field: "preferredChannel", before: "CHANNEL_EMAIL", after: "CHANNEL_SMS")])
        after.preferredChannel = .unspecified
        #expect(ProfileDiff.profileChanges(from: before, to: after) == [.init(field: "preferredChannel", before: "CHANNEL_EMAIL", after: "")])
    }
}
