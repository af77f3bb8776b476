import Testing
import WireProtocol

@Suite("StreamTable")
struct StreamTableTests {
    /// How the ids of a run are drawn: as a client allocates them, at random over all 32 bits, from
    /// a handful (so that the same ids come and go), and as multiples of a large power of two.
    enum IDs: CaseIterable {
        case rising, anywhere, few, strided

        func next(_ counter: inout UInt32, _ random: inout SeededGenerator) -> UInt32 {
            switch self {
            case .rising:
                counter &+= 2
                return counter
            case .anywhere: return UInt32.random(in: 0...UInt32.max, using: &random)
            case .few: return UInt32.random(in: 0...40, using: &random)
            case .strided: return UInt32.random(in: 0...63, using: &random) << 26
            }
        }
    }

    private func expectSame(_ table: StreamTable<Int>, _ model: [UInt32: Int]) {
        #expect(table.count == model.count)
        #expect(table.isEmpty == model.isEmpty)
        #expect(Dictionary(uniqueKeysWithValues: table.map { ($0.key, $0.value) }) == model)
        #expect(table.keys.sorted() == model.keys.sorted())
        #expect(table.values.sorted() == model.values.sorted())
    }

    @Test("inserts, lookups and removals agree with a Dictionary", arguments: IDs.allCases)
    func agreesWithDictionary(ids: IDs) {
        for seed in UInt64(1)...8 {
            var random = SeededGenerator(seed: seed)
            var table = StreamTable<Int>()
            var model: [UInt32: Int] = [:]
            var counter: UInt32 = 0
            var recent: [UInt32] = []
            for step in 0..<3_000 {
                let roll = Int.random(in: 0..<100, using: &random)
                if roll < 50 {
                    let id = ids.next(&counter, &random)
                    table[id] = step
                    model[id] = step
                    recent.append(id)
                } else if roll < 90, !recent.isEmpty {
                    // Mostly ids that are there, as calls finish; sometimes one that never was.
                    let id = roll < 85 ? recent.remove(at: Int.random(in: 0..<recent.count, using: &random)) : ids.next(&counter, &random)
                    let removed = table.removeValue(forKey: id)
                    #expect(removed == model.removeValue(forKey: id))
                } else if roll < 99 {
                    let id = recent.randomElement(using: &random) ?? 0
                    #expect(table[id] == model[id])
                    #expect(table.contains(id) == (model[id] != nil))
                } else {
                    table.removeAll()
                    model.removeAll()
                    recent.removeAll()
                }
                if step % 97 == 0 { expectSame(table, model) }
            }
            expectSame(table, model)
            // Emptied one by one, in an order unrelated to the slots.
            for id in model.keys.sorted(by: >) {
                let removed = table.removeValue(forKey: id)
                #expect(removed == model.removeValue(forKey: id))
            }
            expectSame(table, model)
        }
    }

    @Test("a thousand open streams, then most of them closed out of order, stay findable")
    func manyOpen() {
        var table = StreamTable<UInt32>()
        for id in stride(from: UInt32(1), through: 2_001, by: 2) { table[id] = id &* 3 }
        #expect(table.count == 1_001)
        var closed = 0
        for id in stride(from: UInt32(1), through: 2_001, by: 2) where id % 3 != 0 {
            let removed = table.removeValue(forKey: id)
            #expect(removed == id &* 3)
            closed += 1
        }
        #expect(table.count == 1_001 - closed)
        for id in stride(from: UInt32(1), through: 2_001, by: 2) {
            #expect(table[id] == (id % 3 == 0 ? id &* 3 : nil))
        }
    }

    @Test("as a set: insert and remove say whether anything changed")
    func setOperations() {
        var open = StreamTable<Void>()
        let (added, addedAgain) = (open.insert(7), open.insert(7))
        #expect(added && !addedAgain)
        #expect(open.contains(7))
        #expect(open.count == 1)
        let (removed, removedAgain) = (open.remove(7), open.remove(7))
        #expect(removed && !removedAgain)
        #expect(!open.contains(7))
        #expect(open.isEmpty)
    }

    @Test("a copy is a value: changing one leaves the other, also while iterating")
    func copiesAreValues() {
        var table = StreamTable<String>()
        for id in UInt32(1)...20 { table[id] = "call \(id)" }
        let copy = table
        for (id, _) in table where id % 2 == 0 { table.removeValue(forKey: id) }
        table[3] = "changed"
        #expect(table.count == 10)
        #expect(copy.count == 20)
        #expect(copy[3] == "call 3")
        #expect(copy[4] == "call 4")
        #expect(table[4] == nil)
    }
}
