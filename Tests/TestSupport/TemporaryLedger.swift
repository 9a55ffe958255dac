import Foundation
import Ledger

/// A ledger in a fresh temporary directory, removed when the test ends: the one temporary-directory
/// helper of the test targets.
open class TemporaryLedger: @unchecked Sendable {
    /// The temporary directory (the ledger and its siblings live in it).
    public let directory: String
    /// The ledger directory inside it.
    public var path: String { directory + "/test.ledger" }

    /// Creates the directory.
    public init(prefix: String = "ledger-tests-") {
        directory = NSTemporaryDirectory() + prefix + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Opens (or creates) the ledger.
    public func open(_ options: EventLog.Options = .init()) throws -> EventLog {
        try EventLog(path: path, options: options)
    }
}
