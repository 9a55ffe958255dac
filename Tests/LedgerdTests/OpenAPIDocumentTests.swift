import Foundation
import Testing

@testable import ledgerd

@Suite("ledgerd: the OpenAPI document")
struct OpenAPIDocumentTests {
    @Test("the served OpenAPI document is docs/openapi.yaml (run scripts/embed-openapi.sh after editing it)")
    func servedDocumentIsTheDocsFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let file = try String(contentsOf: root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        #expect(OpenAPIDocument.yaml == file)
        #expect(file.hasPrefix("openapi: 3.1"))
    }
}
