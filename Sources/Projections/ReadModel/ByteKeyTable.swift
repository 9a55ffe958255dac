import Foundation

/// Numbers byte strings (case ids, platform ids) in the order they are first seen, looked up straight
/// from the bytes of a record: no `String` is made and no SipHash computed for a key already known.
///
/// Keys compare as bytes, as LMDB compares the keys of the read model's tables.
struct ByteKeyTable {
    /// Every key's bytes, one after the other.
    private var arena: [UInt8] = []
    /// Where key `n` starts in ``arena`` and how long it is.
    private var starts: [Int] = []
    private var lengths: [Int32] = []
    /// Open addressing: 0 empty, else key number + 1; the hash of the key in the high 32 bits.
    private var slots: [UInt64]
    private var mask: Int

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        arena.reserveCapacity(capacity * 24)
        starts.reserveCapacity(capacity)
        lengths.reserveCapacity(capacity)
    }

    /// The number of keys.
    var count: Int { starts.count }

    /// The bytes of key `n`, valid until the next insertion.
    func withKey<R>(_ n: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try arena.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[starts[n]..<starts[n] + Int(lengths[n])]))
        }
    }

    /// Key `n` as a string.
    func string(_ n: Int) -> String { withKey(n) { String(decoding: $0, as: UTF8.self) } }

    /// `numbers` ordered by the bytes of their keys (the order of an LMDB table's keys).
    func sorted(_ numbers: [Int]) -> [Int] { sorted(numbers) { $0 } }

    /// `items` ordered by the bytes of the key numbered `number(item)`.
    func sorted<T>(_ items: [T], by number: (T) -> Int) -> [T] {
        arena.withUnsafeBytes { raw in
            var keys = items.map { item in
                let n = number(item)
                return (
                    key: UnsafeRawBufferPointer(rebasing: raw[starts[n]..<starts[n] + Int(lengths[n])]),
                    item: item
                )
            }
            keys.sort { a, b in
                let common = min(a.key.count, b.key.count)
                if common > 0 {
                    let c = memcmp(a.key.baseAddress!, b.key.baseAddress!, common)
                    if c != 0 { return c < 0 }
                }
                return a.key.count < b.key.count
            }
            return keys.map(\.item)
        }
    }

    @inline(__always)
    private static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(key.count)
        var i = 0
        while i + 8 <= key.count {
            h = (h ^ key.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < key.count {
            tail |= UInt64(key[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 32
        return h
    }

    /// The number of `key`, or nil.
    func find(_ key: UnsafeRawBufferPointer) -> Int? {
        let h = Self.hash(key)
        return probe(key, h).found
    }

    /// The number of `key`, adding it when new; `isNew` tells which.
    mutating func insert(_ key: UnsafeRawBufferPointer) -> (number: Int, isNew: Bool) {
        let h = Self.hash(key)
        let (found, slot) = probe(key, h)
        if let found { return (found, false) }
        let number = starts.count
        starts.append(arena.count)
        lengths.append(Int32(key.count))
        arena.append(contentsOf: key)
        slots[slot] = (h >> 32) << 32 | UInt64(number + 1)
        if starts.count * 2 > slots.count { grow() }
        return (number, true)
    }

    /// Finds `key` or the empty slot where it belongs.
    @inline(__always)
    private func probe(_ key: UnsafeRawBufferPointer, _ h: UInt64) -> (found: Int?, slot: Int) {
        var slot = Int(truncatingIfNeeded: h) & mask
        let tag = h >> 32
        return slots.withUnsafeBufferPointer { slots in
            arena.withUnsafeBytes { raw in
                while true {
                    let value = slots[slot]
                    if value == 0 { return (nil, slot) }
                    if value >> 32 == tag {
                        let n = Int(value & 0xFFFF_FFFF) - 1
                        let length = Int(lengths[n])
                        if length == key.count
                            && (length == 0
                                || memcmp(raw.baseAddress! + starts[n], key.baseAddress!, length) == 0)
                        {
                            return (n, slot)
                        }
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    private mutating func grow() {
        let size = slots.count * 2
        var next = [UInt64](repeating: 0, count: size)
        let newMask = size - 1
        for n in 0..<starts.count {
            let h = withKey(n) { Self.hash($0) }
            var slot = Int(truncatingIfNeeded: h) & newMask
            while next[slot] != 0 { slot = (slot + 1) & newMask }
            next[slot] = (h >> 32) << 32 | UInt64(n + 1)
        }
        slots = next
        mask = newMask
    }
}
