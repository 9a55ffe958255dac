import LMDB
import Ledger
import SwiftProtobuf

/// Payload bytes handed to SwiftProtobuf without copying them out of the memory map.
///
/// Decoding only reads through ``withUnsafeBytes(_:)``; the initialisers that build bytes (used when
/// encoding) own a copy instead. Valid only while the borrowed buffer is.
public struct PayloadBytes: SwiftProtobufContiguousBytes {
    private var owned: [UInt8]?
    private let borrowed: UnsafeRawBufferPointer

    /// Wraps `buffer` without copying it.
    public init(borrowing buffer: UnsafeRawBufferPointer) {
        borrowed = buffer
        owned = nil
    }

    /// Owned bytes, all `repeating`.
    public init(repeating: UInt8, count: Int) {
        owned = [UInt8](repeating: repeating, count: count)
        borrowed = UnsafeRawBufferPointer(start: nil, count: 0)
    }

    /// Owned bytes copied from `sequence`.
    public init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        owned = Array(sequence)
        borrowed = UnsafeRawBufferPointer(start: nil, count: 0)
    }

    /// The number of bytes.
    public var count: Int { owned?.count ?? borrowed.count }

    /// Calls `body` with the bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let owned { return try owned.withUnsafeBytes(body) }
        return try body(borrowed)
    }

    /// Calls `body` with mutable bytes (an owned copy of borrowed ones).
    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R)
        rethrows -> R
    {
        if owned == nil { owned = Array(borrowed) }
        return try owned!.withUnsafeMutableBytes(body)
    }
}
