import Foundation

/// The path of an executable of this package built beside the test bundle (`ledgerctl`,
/// `ledger-torture`), or nil when it was not built.
public func builtExecutable(named name: String) -> String? {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = url.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        url = url.deletingLastPathComponent()
    }
    return nil
}
