import CLMDB
import Foundation
import LMDB
import Ledger
import Tracing

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
/// keeping every change in memory until ``finish()``: its memory is that of the rows the run touches,
/// never that of the whole history.
struct ChunkFold: FoldTarget {
    let txn: Transaction
    let dbs: ReadModel.Databases

    /// A case the run touched, with what it counted for before the run.
    struct Entry {
        var state: CaseState
        var before: CaseContribution?
        var openKeyBefore: [UInt8]?
        /// What the case made its person known positive since, before the run.
        var positiveBefore: Timestamp?
        var changed = false
    }

    private(set) var cases: [String: Entry] = [:]
    private var activity: [CellKey: DailyActivity] = [:]
    private var platforms: [String: PlatformFacts] = [:]
    private var changedPlatforms: Set<String> = []
    private var seen: Set<String> = []
    private var storedPersons: [String: PersonEntry] = [:]
    private var kindCounts = [Int](repeating: 0, count: EventKind.allCases.count)
    /// The first error met inside a handler (handlers cannot throw; ``fold(_:)`` rethrows it).
    private var failure: (any Error)?

    init(txn: Transaction, dbs: ReadModel.Databases) {
        self.txn = txn
        self.dbs = dbs
    }

    /// The number of cases the run has touched so far.
    var touchedCases: Int { cases.count }

    /// Folds one event.
    mutating func fold(_ view: EventView) throws {
        let kind = try foldEvent(view)
        if let failure { throw failure }
        kindCounts[kind.rawValue] += 1
        if !seen.contains(view.platform) { seen.insert(view.platform) }
    }

    // MARK: - FoldTarget

    mutating func updateCase(
        _ id: String, _ view: EventView, opening: Bool, _ body: (inout CaseState, Bool) -> Void
    ) {
        let index: Dictionary<String, Entry>.Index
        do {
            index = try load(id)
        } catch {
            failure = failure ?? error
            return
        }
        // In place, through the index: one hash of the id per event.
        let wins = cases.values[index].state.attribute(
            to: view.platform, at: view.occurredAt, opening: opening)
        body(&cases.values[index].state, wins)
        cases.values[index].changed = true
    }

    mutating func updateActivity(_ view: EventView, _ body: (inout DailyActivity) -> Void) {
        body(
            &activity[
                CellKey(platform: view.platform, day: view.occurredAt.dayNumber), default: DailyActivity()])
    }

    mutating func updatePlatform(_ view: EventView, _ body: (inout PlatformFacts) -> Void) {
        let id = view.platform
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

    /// Loads case `id` into the run (stored, or new), with its contribution before the run; returns
    /// its index.
    @discardableResult
    private mutating func load(_ id: String) throws -> Dictionary<String, Entry>.Index {
        if let index = cases.index(forKey: id) { return index }
        let stored = try ReadModel.caseState(id, txn: txn, dbs: dbs)
        let state = stored ?? CaseState(id: id)
        let before = state.contribution(positiveSince: try storedPerson(state.person)?.positiveSince)
        cases[id] = Entry(
            state: state, before: before, openKeyBefore: Self.openKey(state),
            positiveBefore: state.positiveTime)
        return cases.index(forKey: id)!
    }

    /// The stored entry of `person` (as it was before the run).
    private mutating func storedPerson(_ person: String) throws -> PersonEntry? {
        guard !person.isEmpty else { return nil }
        if let entry = storedPersons[person] { return entry }
        let entry = try ReadModel.personEntry(person, txn: txn, dbs: dbs) ?? PersonEntry()
        storedPersons[person] = entry
        return entry
    }

    /// The `open` index key of a case the closure report lists (opened, and not closed or handed
    /// over), or nil.
    static func openKey(_ state: CaseState) -> [UInt8]? {
        guard state.isListedAtClosure else { return nil }
        return ReadModelKey.open(platform: state.platform, caseID: state.id)
    }

    /// Settles the run: the persons of the touched cases, every case's new contribution, the cells.
    mutating func finish(checkpoint: UInt64, hash: [UInt8]) throws -> ChunkResult {
        var result = ChunkResult()
        // Persons: every case of a touched person takes part, since the person's "positive since"
        // (the earliest of their patient zéro cases) may move and change each of their contacts.
        var casesOfPerson = [String: Set<String>]()
        for (id, entry) in cases where !entry.state.person.isEmpty {
            casesOfPerson[entry.state.person, default: []].insert(id)
        }
        var positiveSince = [String: Timestamp]()
        for (person, touched) in casesOfPerson {
            let stored = try storedPerson(person) ?? PersonEntry()
            var entry = stored
            for id in touched where !stored.cases.contains(id) { entry.cases.append(id) }
            entry.cases.sort()
            // Usually a person's cases only gain or bring forward their positive time: the stored
            // "positive since" then moves to the earliest of it and theirs. Otherwise (a lab result
            // after an opening, a role that changed) every case of the person is read again.
            let onlyEarlier = touched.allSatisfy { id in
                let e = cases[id]!
                guard let before = e.positiveBefore else { return true }
                return e.state.positiveTime.map { $0 <= before } ?? false
            }
            var since = onlyEarlier ? stored.positiveSince : nil
            for id in onlyEarlier ? Array(touched) : entry.cases {
                let index = try load(id)
                if let time = cases.values[index].state.positiveTime {
                    since = since.map { Swift.min($0, time) } ?? time
                }
            }
            entry.positiveSince = since
            if let since { positiveSince[person] = since }
            if entry != stored {
                result.persons[person] = entry
                // The person's other cases count "later positive" against this time: bring them in.
                if entry.positiveSince != stored.positiveSince {
                    for id in entry.cases { try load(id) }
                }
            }
        }
        for (id, entry) in cases {
            let after = entry.state.contribution(
                positiveSince: entry.state.person.isEmpty ? nil : positiveSince[entry.state.person])
            if after != entry.before {
                if let before = entry.before { result.add(before, sign: -1) }
                if let after { result.add(after, sign: 1) }
            }
            let openAfter = Self.openKey(entry.state)
            if openAfter != entry.openKeyBefore {
                if let key = entry.openKeyBefore { result.openRemoved.insert(key) }
                if let key = openAfter { result.openAdded.insert(key) }
            }
            if entry.changed { result.cases[id] = entry.state }
        }
        for (key, counts) in activity {
            result.cells[key, default: StoredCell()].add(counts)
        }
        for id in changedPlatforms { result.platforms[id] = platforms[id] }
        result.seen = seen
        result.kindCounts = kindCounts
        result.checkpoint = checkpoint
        result.checkpointHash = hash
        return result
    }
}
