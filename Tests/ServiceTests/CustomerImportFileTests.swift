import CRMClient
import Foundation
import Testing
import WireProtocol
internal import CRMAPI

@Suite("Customer import files")
struct CustomerImportFileTests {
    @Test("CSV: quoted commas, quotes and line breaks, CRLF, a byte order mark, blank lines")
    func csvRecords() {
        let text = "\u{FEFF}a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\r\n\r\n2,\"two\nlines\",\n3,,z"
        let records = Array(CSVRecords(Array(text.utf8)))
        #expect(records.map(\.line) == [1, 2, 4, 6])
        #expect(records.map(\.fields) == [["a", "b", "c"], ["1", "x, y", "say \"hi\""], ["2", "two\nlines", ""], ["3", "", "z"]])
        var unclosed = CSVRecords(Array("a\n\"open,b\n".utf8))
        #expect(unclosed.next()?.fields == ["a"])
        #expect(unclosed.next() == nil)
        #expect(unclosed.error?.line == 2)
    }

    @Test("CSV rows become import rows; unknown words and short rows are reported with their line")
    func csvEntries() throws {
        let csv = """
            source_id,kind,name_zh,gender,birth_date,document_type,document_number,phone,city
            L-1,individual,王芳,Female,1980-01-02,prc-resident-id,110105198001020011,13800000001,北京
            L-2,individual,李四,robot,1980-01-02,,,,
            L-3,corporate
            """
        let entries = try CustomerImportFile.entries(Array(csv.utf8), format: .csv)
        #expect(entries.count == 3)
        guard case .row(let row) = entries[0] else { Issue.record("row 1 unreadable"); return }
        #expect(row.line == 2)
        #expect(row.sourceID == "L-1")
        #expect(row.profile.individual.gender == .female)
        #expect(row.profile.documents.first?.type == .prcResidentID)
        #expect(row.profile.contacts.map(\.kind) == [.phone, .address])
        #expect(entries[1] == .unreadable(line: 3, sourceID: "L-2", problem: "gender: \"robot\" is not one of female, male, other"))
        #expect(entries[2] == .unreadable(line: 4, sourceID: "L-3", problem: "has 2 fields, the header 9"))
    }

    @Test("a CSV without source_id, with an unknown or repeated column, is refused before anything is sent")
    func csvHeaders() {
        for (header, message) in [
            ("name_zh\n", "no source_id"), ("source_id,nmae_zh\n", "unknown column \"nmae_zh\""), ("source_id,phone,phone\n", "appears twice"),
            ("", "empty"),
        ] {
            #expect(throws: CustomerImportFile.FileError.self) { try CustomerImportFile.entries(Array(header.utf8), format: .csv) }
            do {
                _ = try CustomerImportFile.entries(Array(header.utf8), format: .csv)
            } catch {
                #expect(error.description.contains(message), "\(error)")
            }
        }
    }

    @Test("JSON lines: protobuf JSON rows, unknown fields and bad lines reported with their line")
    func jsonLines() throws {
        let text = """
            {"sourceId": "J-1", "profile": {"kind": "CUSTOMER_KIND_INDIVIDUAL", "individual": {"nameZh": "王芳"}}}

            {"sourceId": "J-2", "profil": {}}
            not json
            """
        let entries = try CustomerImportFile.entries(Array(text.utf8), format: .jsonl)
        #expect(entries.count == 3)
        guard case .row(let row) = entries[0] else { Issue.record("line 1 unreadable"); return }
        #expect(row.line == 1 && row.profile.individual.nameZh == "王芳")
        guard case .unreadable(let line, _, _) = entries[1], case .unreadable(let last, _, _) = entries[2] else {
            Issue.record("bad lines were accepted")
            return
        }
        #expect((line, last) == (3, 4))
    }
}
