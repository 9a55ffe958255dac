import Foundation
import Testing

/// The layers of docs/architecture.md: the LMDB wrapper and the generic event log know nothing of
/// contact tracing, so that the log can be changed, tested and reused without the domain.
@Suite("layers")
struct LayeringTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources")

    /// Words of the tracing domain and of the layers above the log.
    static let domainWords = [
        "tracing", "eventcatalog", "eventjson", "privacyvault", "keystore", "caseopened", "positivetest",
        "contactdeclared", "platformclosure", "labresult", "pseudonym", "patient", "contact", "projection",
        "simulat", "cpam", "swiftprotobuf",
    ]

    static let allowedImports: Set<String> = [
        "Foundation", "CLMDB", "LMDB", "Crypto", "Glibc", "Darwin", "Dispatch", "Synchronization",
    ]

    @Test(
        "Sources/LMDB and Sources/Ledger never name a tracing type and import only the layers below",
        arguments: ["LMDB", "Ledger"])
    func lowerLayersKnowNoDomain(module: String) throws {
        let directory = Self.sources.appendingPathComponent(module)
        let files = try #require(FileManager.default.enumerator(atPath: directory.path)).compactMap {
            $0 as? String
        }
        .filter { $0.hasSuffix(".swift") }
        #expect(!files.isEmpty)
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            // The product's own name ("tracing ledger", the "tracing-ledger" format headers) is not the domain.
            let lower = text.lowercased().replacingOccurrences(of: "tracing-ledger", with: "")
                .replacingOccurrences(of: "tracing ledger", with: "")
            for word in Self.domainWords {
                #expect(!lower.contains(word), "\(module)/\(file) names '\(word)'")
            }
            for line in text.split(separator: "\n")
            where line.hasPrefix("import ") || line.contains(" import ") {
                let name = line.split(separator: " ").last.map(String.init) ?? ""
                #expect(Self.allowedImports.contains(name), "\(module)/\(file) imports \(name)")
            }
        }
    }
}
