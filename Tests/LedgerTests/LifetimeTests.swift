import Foundation
import Testing

/// What the compiler refuses: a record view, a snapshot or the bytes of a record kept beyond the read
/// that lent them. Each snippet is compiled to SIL (where lifetimes are checked) against the built
/// `Ledger` module with `swiftc`.
@Suite("lifetimes the compiler checks")
struct LifetimeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The directory of the built modules (`.build/debug/Modules`), found from the test bundle.
    static var modules: String? {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = url.appendingPathComponent("Modules")
            if FileManager.default.fileExists(
                atPath: candidate.appendingPathComponent("Ledger.swiftmodule").path)
            {
                return candidate.path
            }
            url = url.deletingLastPathComponent()
        }
        return nil
    }

    /// Compiles `body` to SIL inside `func use(_ log: EventLog) throws { … }`; returns the errors.
    func typecheck(_ body: String) throws -> (ok: Bool, errors: String) {
        let modules = try #require(Self.modules, "the built Ledger module was not found")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lifetime-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("snippet.swift")
        try "import Ledger\nfunc use(_ log: EventLog) throws {\n\(body)\n}\n".write(
            to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "swiftc", "-emit-sil", "-o", "/dev/null", "-swift-version", "6", "-I", modules, "-I",
            Self.root.appendingPathComponent("Sources/CLMDB").path, file.path,
        ]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus == 0, text)
    }

    @Test("reading a record's fields and bytes inside the closure compiles")
    func scopedUseCompiles() throws {
        let result = try typecheck(
            """
                var total = 0
                try log.forEach { view in
                    total += view.withPayload { $0.byteCount } + view.withRecord { $0.byteCount }
                    return view.type != "Stop"
                }
                let head = try log.withSnapshot { try $0.head() }
                _ = (total, head, try log.events().first?.payload)
            """)
        #expect(result.ok, "\(result.errors)")
    }

    @Test(
        "a view, a snapshot or a record's bytes kept beyond the read do not compile",
        arguments: [
            "var kept: EventView?\ntry log.forEach { view in kept = view; return false }",
            "let escaped = try log.withSnapshot { snapshot -> Snapshot in snapshot }",
            "var bytes: RawSpan?\ntry log.forEach { view in view.withPayload { bytes = $0 }; return false }\nprint(bytes?.byteCount ?? 0)",
            "_ = try log.forEach { view in view.bytes.count > 0 }",
        ])
    func escapesDoNotCompile(snippet: String) throws {
        let result = try typecheck(snippet)
        #expect(!result.ok, "compiled: \(snippet)")
        #expect(result.errors.contains("error:"), "\(result.errors)")
    }
}
