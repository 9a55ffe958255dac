import Foundation
import Testing

@testable import ledgerd

/// What appends see of the replica in synchronous mode (docs/operations.md): a reply waits until the
/// replica holds the batch, a replica known to be away refuses batches before anything is written.
@Suite("ledgerd: synchronous replication's waits and refusals")
struct ReplicationStatusTests {
    /// Waits (boundedly) until `count` appends wait for the replica.
    private func until(_ status: ReplicationStatus, waiting count: Int) async throws {
        for _ in 0..<2_000 where status.waiting != count { try await Task.sleep(for: .milliseconds(10)) }
        #expect(status.waiting == count)
    }

    private func problem(_ body: () async throws(Problem) -> Void) async -> Problem? {
        do {
            try await body()
            return nil
        } catch {
            return error
        }
    }

    @Test("an append's confirmation waits until the replica holds its last position, and no longer")
    func confirmationWaitsForTheShipper() async throws {
        let status = ReplicationStatus(synchronous: true, timeout: .seconds(30))
        status.shipped(through: 10)
        // Already held: at once.
        #expect(await problem { () throws(Problem) in try await status.confirm(through: 7) }?.name == nil)
        let waiting = Task { await problem { () throws(Problem) in try await status.confirm(through: 12) } }
        try await until(status, waiting: 1)
        status.shipped(through: 11)  // not enough
        #expect(status.waiting == 1)
        status.shipped(through: 12)
        #expect(await waiting.value?.name == nil)
        #expect(status.waiting == 0)
        #expect(status.snapshot.shipped == 12)
        #expect(status.snapshot.health == .reachable)
    }

    @Test("no confirmation within the timeout is a 503 replica-unavailable that says the batch was written")
    func timeoutIs503Written() async {
        let status = ReplicationStatus(synchronous: true, timeout: .milliseconds(100))
        let refused = await problem { () throws(Problem) in try await status.confirm(through: 1) }
        #expect(refused?.status.code == 503)
        #expect(refused?.detail.contains("did not confirm the batch in time") == true)
        #expect(status.waiting == 0)
        #expect(refused?.name == "replica-unavailable")
        #expect(refused?.extensions.first { $0.0 == "written" }?.1.rendered == "true")
        #expect(refused?.detail.contains("retry it as is") == true)
    }

    @Test(
        "a replica that fails answers every waiting append 503, refuses new batches before writing, and a round that succeeds lets them in again"
    )
    func failureRefusesUntilARoundSucceeds() async throws {
        let status = ReplicationStatus(synchronous: true, timeout: .seconds(30))
        // Starting: let in, it waits.
        #expect(await problem { () throws(Problem) in try status.admit() }?.name == nil)
        let waiting = Task { await problem { () throws(Problem) in try await status.confirm(through: 5) } }
        try await until(status, waiting: 1)
        status.failed(.failing("connection refused"))
        let answered = await waiting.value
        #expect(answered?.status.code == 503)
        #expect(answered?.detail.contains("cannot be reached") == true)
        #expect(answered?.detail.contains("connection refused") == false)  // the log's, not the client's
        let refused = await problem { () throws(Problem) in try status.admit() }
        #expect(refused?.extensions.first { $0.0 == "written" }?.1.rendered == "false")
        #expect(refused?.detail.contains("nothing was written") == true)
        status.shipped(through: 5)
        #expect(await problem { () throws(Problem) in try status.admit() }?.name == nil)
    }

    @Test("a diverged replica refuses at once, without waiting for the timeout")
    func divergedRefusesAtOnce() async {
        let status = ReplicationStatus(synchronous: true, timeout: .seconds(30))
        status.failed(.diverged("another hash at position 3"))
        // Not the timeout's answer: the divergence's, without waiting.
        let refused = await problem { () throws(Problem) in try await status.confirm(through: 9) }
        #expect(refused?.detail.contains("disagrees with the ledger") == true)
        #expect(status.waiting == 0)
        #expect(await problem { () throws(Problem) in try status.admit() }?.name != nil)
    }

    @Test("asynchronous replication never refuses a batch, whatever the replica's state")
    func asynchronousAdmitsEverything() async {
        let status = ReplicationStatus(synchronous: false, timeout: .seconds(5))
        status.failed(.failing("down"))
        #expect(await problem { () throws(Problem) in try status.admit() }?.name == nil)
    }

    @Test(
        "a waiting append whose task is cancelled (its client went away) ends at once and leaves no waiter behind"
    )
    func cancellationEndsTheWait() async throws {
        // A timeout of an hour: the test ends only if the cancellation ends the wait.
        let status = ReplicationStatus(synchronous: true, timeout: .seconds(3_600))
        let waiting = Task { await problem { () throws(Problem) in try await status.confirm(through: 3) } }
        try await until(status, waiting: 1)
        waiting.cancel()
        #expect(await waiting.value?.status.code == 503)
        #expect(status.waiting == 0)
        // Cancelled before it even started to wait: it ends too.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await problem { () throws(Problem) in try await status.confirm(through: 4) }
        }
        #expect(await early.value?.name != nil)
        status.shipped(through: 4)
    }
}
