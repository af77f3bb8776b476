import Foundation
import Testing

/// Replays every input in Fuzz/Corpus (found and minimised by `scripts/fuzz`) through the same
/// harness the fuzzer runs, so a regression on any interesting input fails the ordinary tests.
@Suite("Fuzz corpus replay")
struct FuzzCorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus")

    @Test("every committed corpus input runs through the harness")
    func replay() throws {
        let files = try FileManager.default.contentsOfDirectory(at: Self.corpus, includingPropertiesForKeys: nil)
        #expect(files.count >= 6, "the corpus is missing: \(Self.corpus.path)")
        for file in files {
            let bytes = try Data(contentsOf: file)
            bytes.withUnsafeBytes { WireFuzzHarness.run($0) }
        }
    }
}
