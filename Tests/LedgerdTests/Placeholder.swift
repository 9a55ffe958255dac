import Testing
@testable import ledgerd
