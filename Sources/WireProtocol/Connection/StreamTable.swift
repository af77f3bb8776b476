/// A connection's open streams by id: a hash table that does not use SipHash.
///
/// Why: `Set` and `Dictionary` hash every key with SipHash. An echo call touches the tables of open
/// streams five or six times (each side's state machine, the client's table of waiting calls). With
/// the method lookup, hashing was about 8% of an echo's samples (the history of docs/BENCHMARKS.md, "Handlers on
/// the loop in crm-customer"). Stream ids are 32 bits and rise with every call, so this table
/// hashes by one multiplication and probes linearly.
///
/// The peer chooses the ids a server sees, so they must not be made to collide.
/// - The multiplier is drawn at random for each table, so the peer cannot know which ids share a slot.
/// - A connection holds at most its limit of concurrent streams. Even ids that did collide would make
///   a lookup walk no further than that.
public struct StreamTable<Value> {
    @usableFromInline
    struct Slot {
        @usableFromInline var id: UInt32
        @usableFromInline var used: Bool
        @usableFromInline var value: Value?

        @inlinable
        init(id: UInt32, used: Bool, value: Value?) {
            self.id = id
            self.used = used
            self.value = value
        }
    }

    /// Empty until the first insert: most connections' tables stay small, many stay empty.
    @usableFromInline var slots: [Slot] = []
    /// `32 - log2(slots.count)`: the hash is the top bits of the product.
    @usableFromInline var shift: UInt32 = 32
    @usableFromInline let multiplier: UInt32
    @usableFromInline var entries = 0

    @inlinable
    public var count: Int { entries }

    @inlinable
    public init() {
        multiplier = UInt32.random(in: 0...UInt32.max) | 1
    }

    @inlinable
    public var isEmpty: Bool { entries == 0 }

    @inlinable
    var mask: Int { slots.count - 1 }

    @inlinable
    func home(_ id: UInt32) -> Int { Int((id &* multiplier) >> shift) }

    /// The slot holding `id`, or nil.
    @inlinable
    func slot(of id: UInt32) -> Int? {
        guard entries > 0 else { return nil }
        var index = home(id)
        while slots[index].used {
            if slots[index].id == id { return index }
            index = (index + 1) & mask
        }
        return nil
    }

    @inlinable
    public subscript(id: UInt32) -> Value? {
        get { slot(of: id).flatMap { slots[$0].value } }
        set {
            if let newValue { insert(id, newValue) } else { removeValue(forKey: id) }
        }
    }

    @inlinable
    public func contains(_ id: UInt32) -> Bool { slot(of: id) != nil }

    /// Sets the value of `id`, adding it if it is not there; returns whether it was added.
    @inlinable @discardableResult
    public mutating func insert(_ id: UInt32, _ value: Value) -> Bool {
        if let index = slot(of: id) {
            slots[index].value = value
            return false
        }
        // At most half full: probes stay short.
        if (entries + 1) * 2 > slots.count { grow() }
        var index = home(id)
        while slots[index].used { index = (index + 1) & mask }
        slots[index] = Slot(id: id, used: true, value: value)
        entries += 1
        return true
    }

    /// Removes `id`; returns its value, or nil if it was not there.
    @inlinable @discardableResult
    public mutating func removeValue(forKey id: UInt32) -> Value? {
        guard let index = slot(of: id) else { return nil }
        let value = slots[index].value
        entries -= 1
        // Backward shift: an entry after the hole moves into it unless its home lies between the
        // hole and the entry, so every entry stays reachable from its home without tombstones.
        var hole = index
        var next = (index + 1) & mask
        while slots[next].used {
            let distanceFromHome = (next - home(slots[next].id)) & mask
            if distanceFromHome >= (next - hole) & mask {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = Slot(id: 0, used: false, value: nil)
        return value
    }

    @inlinable
    public mutating func removeAll() {
        slots = []
        shift = 32
        entries = 0
    }

    @inlinable
    mutating func grow() {
        let old = slots
        let capacity = Swift.max(16, old.count * 2)
        slots = Array(repeating: Slot(id: 0, used: false, value: nil), count: capacity)
        shift = UInt32(32 - capacity.trailingZeroBitCount)
        for slot in old where slot.used {
            var index = home(slot.id)
            while slots[index].used { index = (index + 1) & mask }
            slots[index] = slot
        }
    }

    /// The ids, in no particular order.
    @inlinable
    public var keys: [UInt32] { slots.compactMap { $0.used ? $0.id : nil } }

    /// The values, in no particular order.
    @inlinable
    public var values: [Value] { slots.compactMap { $0.used ? $0.value : nil } }
}

extension StreamTable: Sequence {
    public struct Iterator: IteratorProtocol {
        @usableFromInline var slots: IndexingIterator<[Slot]>

        @inlinable
        init(slots: IndexingIterator<[Slot]>) { self.slots = slots }

        @inlinable
        public mutating func next() -> (key: UInt32, value: Value)? {
            while let slot = slots.next() {
                if slot.used, let value = slot.value { return (slot.id, value) }
            }
            return nil
        }
    }

    /// Entries in no particular order. The table is a value: changing it while iterating changes a
    /// copy, as with `Dictionary`.
    @inlinable
    public func makeIterator() -> Iterator { Iterator(slots: slots.makeIterator()) }

    @inlinable
    public var underestimatedCount: Int { count }
}

extension StreamTable where Value == Void {
    /// Adds `id`; returns false if it was there already.
    @inlinable @discardableResult
    public mutating func insert(_ id: UInt32) -> Bool { insert(id, ()) }

    /// Removes `id`; returns false if it was not there.
    @inlinable @discardableResult
    public mutating func remove(_ id: UInt32) -> Bool { removeValue(forKey: id) != nil }
}

extension StreamTable: Sendable where Value: Sendable {}
extension StreamTable.Slot: Sendable where Value: Sendable {}
