import CLMDB
import ContactTracing
import Foundation
import LMDB
import Ledger

/// The key of a day cell.
struct CellKey: Hashable {
    var platform: String
    var day: Int
}

/// What folding a run of events changed in the stored read model, ready to be written in one
/// transaction (a catch-up chunk) or laid over the stored rows (a read-only user's tail).
struct ChunkResult {
    /// The cases the run changed, in their new state.
    var cases: [String: CaseState] = [:]
    /// Person entries that changed.
    var persons: [String: PersonEntry] = [:]
    /// Changes to day cells (negative where a case's contribution moved away).
    var cells: [CellKey: StoredCell] = [:]
    /// Platforms whose facts changed, in their new state.
    var platforms: [String: PlatformFacts] = [:]
    /// Platforms seen in the run.
    var seen: Set<String> = []
    /// Entries of the `open` index removed and added (platform, case id).
    var openRemoved: Set<[UInt8]> = []
    var openAdded: Set<[UInt8]> = []
    /// Events folded, by ``EventKind``.
    var kindCounts = [Int](repeating: 0, count: EventKind.allCases.count)
    /// The position and hash reached.
    var checkpoint: UInt64 = 0
    var checkpointHash: [UInt8] = []

    /// Adds (`sign` 1) or removes (`sign` -1) a case's contribution to the cell it counts in.
    mutating func add(_ contribution: CaseContribution, sign: Int) {
        cells[CellKey(platform: contribution.platform, day: contribution.day), default: StoredCell()].add(
            contribution, sign: sign)
    }
}

/// Folds a run of events against the stored read model, reading the rows it needs through `txn` and
/// keeping every change in memory until ``settle()``: its memory is that of the rows the run touches,
/// never that of the whole history.
///
/// Cases are found by the bytes of their id (``ByteKeyTable``), platforms numbered: folding an event of
/// a case already loaded makes no string.
struct ChunkFold: FoldTarget {
    let txn: Transaction<LMDBError>
    let dbs: ReadModel.Databases

    /// A case the run touched, with what it counted for before the run.
    struct Entry {
        var state: CaseState
        var before: CaseContribution?
        /// Whether the closure report listed the case before the run, and on which platform.
        var listedBefore: Bool
        var platformBefore: String
        /// What the case made its person known positive since, before the run.
        var positiveBefore: Timestamp?
        var changed = false
    }

    /// The ids of the cases loaded, numbered as ``entries``.
    private var ids = ByteKeyTable(capacity: 16_384)
    private(set) var entries: [Entry] = []
    /// Platform ids met (events, cells), numbered; `platformNames` holds them as strings.
    private var platformIDs = ByteKeyTable(capacity: 16)
    private var platformNames: [String] = []
    /// Platforms some folded event named, by number.
    private var seen: [Bool] = []
    /// The platform of the event being folded.
    private var currentPlatform = 0
    /// Activity by cell: platform number in the high 32 bits, day in the low 32.
    private var activity: [Int: DailyActivity] = [:]
    private var platforms: [String: PlatformFacts] = [:]
    private var changedPlatforms: Set<String> = []
    /// Persons met (their key bytes), numbered; `personEntries` holds their stored entries, as they
    /// were before the run.
    private var personIDs = ByteKeyTable(capacity: 16_384)
    private var personEntries: [PersonEntry] = []
    private var kindCounts = [Int](repeating: 0, count: EventKind.allCases.count)
    /// The first error met inside a handler (handlers cannot throw; ``fold(_:)`` rethrows it).
    private var failure: (any Error)?

    init(txn: Transaction<LMDBError>, dbs: ReadModel.Databases) {
        self.txn = txn
        self.dbs = dbs
    }

    /// The number of cases the run has touched so far.
    var touchedCases: Int { entries.count }

    /// Folds one event.
    mutating func fold(_ view: borrowing EventView) throws {
        currentPlatform = platformNumber(view.platformBytes)
        let kind = try foldEvent(view)
        if let failure { throw failure }
        kindCounts[kind.rawValue] += 1
        seen[currentPlatform] = true
    }

    /// The number of platform `bytes`, numbered when new.
    private mutating func platformNumber(_ bytes: UnsafeRawBufferPointer) -> Int {
        let (number, isNew) = platformIDs.insert(bytes)
        if isNew {
            platformNames.append(String(decoding: bytes, as: UTF8.self))
            seen.append(false)
        }
        return number
    }

    private mutating func platformNumber(_ name: String) -> Int {
        var name = name
        return name.withUTF8 { platformNumber(UnsafeRawBufferPointer($0)) }
    }

    // MARK: - FoldTarget

    mutating func updateCase(
        _ id: UnsafeRawBufferPointer, _ view: borrowing EventView, opening: Bool,
        _ body: (inout CaseState, Bool) -> Void
    ) {
        let n: Int
        do {
            n = try load(id)
        } catch {
            failure = failure ?? error
            return
        }
        entries.withUnsafeMutableBufferPointer { entries in
            let wins = entries[n].state.attribute(
                to: view.platformBytes, at: view.occurredAt, opening: opening)
            body(&entries[n].state, wins)
            entries[n].changed = true
        }
    }

    mutating func updateActivity(_ view: borrowing EventView, _ body: (inout DailyActivity) -> Void) {
        let key = currentPlatform << 32 | Int(UInt32(truncatingIfNeeded: view.occurredAt.dayNumber))
        body(&activity[key, default: DailyActivity()])
    }

    mutating func updatePlatform(_ view: borrowing EventView, _ body: (inout PlatformFacts) -> Void) {
        let id = platformNames[currentPlatform]
        if platforms[id] == nil {
            do {
                platforms[id] = try ReadModel.platformFacts(id, txn: txn, dbs: dbs) ?? PlatformFacts(id: id)
            } catch {
                failure = failure ?? error
                return
            }
        }
        body(&platforms[id]!)
        changedPlatforms.insert(id)
    }

    // MARK: - Rows

    /// Loads case `id` into the run (stored, or new), with what it counted for before the run;
    /// returns its number in ``entries``.
    @discardableResult
    private mutating func load(_ id: UnsafeRawBufferPointer) throws -> Int {
        if let n = ids.find(id) { return n }
        let name = String(decoding: id, as: UTF8.self)
        let state = try ReadModel.caseState(name, key: id, txn: txn, dbs: dbs) ?? CaseState(id: name)
        let n = ids.insert(id).number
        let before = state.contribution(
            positiveSince: try personNumber(state.person).flatMap { personEntries[$0].positiveSince })
        entries.append(
            Entry(
                state: state, before: before, listedBefore: state.isListedAtClosure,
                platformBefore: state.platform, positiveBefore: state.positiveTime))
        return n
    }

    @discardableResult
    private mutating func load(_ id: String) throws -> Int {
        var id = id
        return try id.withUTF8 { try load(UnsafeRawBufferPointer($0)) }
    }

    /// The number of `person` in ``personEntries`` (its stored entry read when new), or nil for no person.
    private mutating func personNumber(_ person: String) throws -> Int? {
        guard !person.isEmpty else { return nil }
        var utf8 = person
        return try utf8.withUTF8 { utf8 in
            let key = UnsafeRawBufferPointer(utf8)
            if let n = personIDs.find(key) { return n }
            personEntries.append(
                try ReadModel.personEntry(person, key: key, txn: txn, dbs: dbs) ?? PersonEntry())
            return personIDs.insert(key).number
        }
    }

    /// Person `n`'s key bytes.
    func withPerson<R>(_ n: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try personIDs.withKey(n, body)
    }

    /// Changed persons in the order of their keys.
    func sortedByKey(_ persons: [(number: Int, entry: PersonEntry)]) -> [(number: Int, entry: PersonEntry)] {
        personIDs.sorted(persons) { $0.number }
    }

    /// The id of case `n` in ``entries``, as the bytes of its key.
    func withID<R>(_ n: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try ids.withKey(n, body)
    }

    /// Entry numbers ordered by the bytes of their ids (the order of the `cases` table).
    func sortedByID(_ numbers: [Int]) -> [Int] { ids.sorted(numbers) }

    /// What the run changes, ready to be written or laid over the stored rows.
    struct Settlement {
        /// Entries whose state changed.
        var changed: [Int] = []
        /// Person entries that changed.
        var persons: [(number: Int, entry: PersonEntry)] = []
        /// Changes to day cells (negative where a case's contribution moved away), by platform
        /// number (high 32 bits) and day.
        var cells: [Int: StoredCell] = [:]
        /// Entries of the `open` index removed and added.
        var openRemoved: [[UInt8]] = []
        var openAdded: [[UInt8]] = []
    }

    /// The platform of a cell key of ``Settlement/cells``, and its day.
    func cell(_ key: Int) -> CellKey {
        CellKey(platform: platformNames[key >> 32], day: Int(Int32(truncatingIfNeeded: key)))
    }

    private mutating func add(_ contribution: CaseContribution, sign: Int, to cells: inout [Int: StoredCell])
    {
        let key =
            platformNumber(contribution.platform) << 32 | Int(UInt32(truncatingIfNeeded: contribution.day))
        cells[key, default: StoredCell()].add(contribution, sign: sign)
    }

    /// Settles the run: the persons of the touched cases, every case's new contribution, the cells.
    mutating func settle() throws -> Settlement {
        var s = Settlement()
        // Persons: every case of a touched person takes part, since the person's "positive since"
        // (the earliest of their patient zéro cases) may move and change each of their contacts.
        // The touched cases of each person are chained from `head` (by person number) through `next`.
        let touched = entries.count
        var personOfEntry = [Int](repeating: -1, count: touched)
        for n in 0..<touched {
            personOfEntry[n] = try personNumber(entries[n].state.person) ?? -1
        }
        var head = [Int](repeating: -1, count: personIDs.count)
        var next = [Int](repeating: -1, count: touched)
        var touchedPersons = [Int]()
        for n in 0..<touched where personOfEntry[n] >= 0 {
            let p = personOfEntry[n]
            if head[p] < 0 { touchedPersons.append(p) }
            next[n] = head[p]
            head[p] = n
        }
        var positiveSince = [Timestamp?](repeating: nil, count: personIDs.count)
        for p in touchedPersons {
            let stored = personEntries[p]
            var entry = stored
            // Usually a person's cases only gain or bring forward their positive time: the stored
            // "positive since" then moves to the earliest of it and theirs. Otherwise (a lab result
            // after an opening, a role that changed) every case of the person is read again.
            var onlyEarlier = true
            var n = head[p]
            while n >= 0 {
                let id = entries[n].state.id
                if !stored.cases.contains(id) { entry.cases.append(id) }
                if let before = entries[n].positiveBefore,
                    !(entries[n].state.positiveTime.map { $0 <= before } ?? false)
                {
                    onlyEarlier = false
                }
                n = next[n]
            }
            entry.cases.sort()
            var since = onlyEarlier ? stored.positiveSince : nil
            func earliest(_ n: Int) {
                if let time = entries[n].state.positiveTime {
                    since = since.map { Swift.min($0, time) } ?? time
                }
            }
            if onlyEarlier {
                n = head[p]
                while n >= 0 {
                    earliest(n)
                    n = next[n]
                }
            } else {
                for id in entry.cases { earliest(try load(id)) }
            }
            entry.positiveSince = since
            positiveSince[p] = since
            if entry != stored {
                s.persons.append((p, entry))
                // The person's other cases count "later positive" against this time: bring them in.
                if entry.positiveSince != stored.positiveSince {
                    for id in entry.cases { try load(id) }
                }
            }
        }
        // Cases loaded above are of the touched persons (or of none).
        for n in touched..<entries.count {
            personOfEntry.append(try personNumber(entries[n].state.person) ?? -1)
        }
        var moves = [(CaseContribution, Int)]()
        entries.withUnsafeBufferPointer { entries in
            for n in entries.indices {
                let p = personOfEntry[n]
                let since = p >= 0 && p < positiveSince.count ? positiveSince[p] : nil
                let after = entries[n].state.contribution(positiveSince: since)
                if after != entries[n].before {
                    if let before = entries[n].before { moves.append((before, -1)) }
                    if let after { moves.append((after, 1)) }
                }
                let listed = entries[n].state.isListedAtClosure
                if listed != entries[n].listedBefore
                    || (listed
                        && !entries[n].state.platform.utf8.elementsEqual(entries[n].platformBefore.utf8))
                {
                    if entries[n].listedBefore {
                        s.openRemoved.append(
                            ReadModelKey.open(
                                platform: entries[n].platformBefore, caseID: entries[n].state.id))
                    }
                    if listed {
                        s.openAdded.append(
                            ReadModelKey.open(
                                platform: entries[n].state.platform, caseID: entries[n].state.id))
                    }
                }
                if entries[n].changed { s.changed.append(n) }
            }
        }
        for (contribution, sign) in moves { add(contribution, sign: sign, to: &s.cells) }
        for (key, counts) in activity {
            s.cells[key, default: StoredCell()].add(counts)
        }
        return s
    }

    /// Platforms whose facts the run changed, in their new state.
    var changedPlatformFacts: [(id: String, facts: PlatformFacts)] {
        changedPlatforms.sorted().map { ($0, platforms[$0]!) }
    }

    /// Platforms some folded event named.
    var seenPlatforms: [String] { platformNames.indices.filter { seen[$0] }.map { platformNames[$0] } }

    /// Events folded, by ``EventKind``.
    var foldedKinds: [Int] { kindCounts }

    /// Settles the run into a ``ChunkResult`` (a read-only user's tail, laid over the stored rows).
    mutating func finish(checkpoint: UInt64, hash: [UInt8]) throws -> ChunkResult {
        let s = try settle()
        var result = ChunkResult()
        for n in s.changed { result.cases[entries[n].state.id] = entries[n].state }
        for (p, entry) in s.persons { result.persons[personIDs.string(p)] = entry }
        for (key, delta) in s.cells { result.cells[cell(key), default: StoredCell()].add(delta) }
        for (id, facts) in changedPlatformFacts { result.platforms[id] = facts }
        result.seen = Set(seenPlatforms)
        result.openRemoved = Set(s.openRemoved)
        result.openAdded = Set(s.openAdded)
        result.kindCounts = kindCounts
        result.checkpoint = checkpoint
        result.checkpointHash = hash
        return result
    }
}
