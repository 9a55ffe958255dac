import Crypto
import Foundation
import SwiftASN1
import X509

#if canImport(Glibc)
    import Glibc
#endif

/// What a principal may do on `ledgerd` (docs/security.md).
public enum Role: String, CaseIterable, Sendable, Codable {
    /// A tracing platform (`cpam-34`): appends its own events, reads its own cases.
    case platform
    /// A statistician: reads statistics and closure reports, never identities nor events.
    case statistician
    /// An administrator: reads everything, appends the events that open, close and hand over platforms.
    case administrator
}

/// Who a client certificate names: its subject's common name, its role (the organisational unit)
/// and its serial number, which the deny list names.
public struct Principal: Sendable, Equatable, CustomStringConvertible {
    /// The principal's name in NFC: a platform's id (`cpam-34`) or a person's or a tool's name.
    public let name: String
    /// What it may do.
    public let role: Role
    /// The certificate's serial number, lower-case hexadecimal.
    public let serial: String

    /// `role name (serial …)`.
    public var description: String { "\(role.rawValue) \(name) (serial \(serial))" }

    /// Creates a principal (tests, and the certificates ``CertificateAuthority`` issues).
    public init(name: String, role: Role, serial: String) {
        self.name = name.precomposedStringWithCanonicalMapping
        self.role = role
        self.serial = serial
    }

    /// Reads the principal a client certificate names.
    /// - Throws: ``CredentialError`` when the subject has no common name or no known role, or the
    ///   certificate is not one of this product's (organisation `tracing-ledger`).
    public init(certificate: Certificate) throws(CredentialError) {
        var commonName: String?
        var unit: String?
        var organization: String?
        for rdn in certificate.subject {
            for attribute in rdn {
                switch attribute.type {
                case .RDNAttributeType.commonName: commonName = String(attribute.value)
                case .RDNAttributeType.organizationalUnitName: unit = String(attribute.value)
                case .RDNAttributeType.organizationName: organization = String(attribute.value)
                default: break
                }
            }
        }
        guard organization == CertificateAuthority.organization else {
            throw CredentialError(
                "the certificate's subject is not a \(CertificateAuthority.organization) principal")
        }
        guard let commonName, !commonName.isEmpty else {
            throw CredentialError("the certificate's subject has no common name (the principal)")
        }
        guard let unit, let role = Role(rawValue: unit) else {
            throw CredentialError(
                "the certificate's organisational unit '\(unit ?? "")' is not a role ("
                    + Role.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        try Self.checkName(commonName, role: role)
        self.init(name: commonName, role: role, serial: certificate.serialNumber.hex)
    }

    /// Names a platform may not have: `all` (every platform, in statistics) and `platform` (the
    /// prefix of every platform's own stream).
    public static let reservedPlatformNames: Set<String> = ["all", "platform"]

    /// Refuses a platform named like something else, or with a `/` or a line break in its name.
    static func checkName(_ name: String, role: Role) throws(CredentialError) {
        let name = name.precomposedStringWithCanonicalMapping
        guard !name.isEmpty, !name.contains(where: { $0.isNewline || $0 == "/" }) else {
            throw CredentialError("'\(name)': a principal's name is not empty and has no '/' or line break")
        }
        guard role != .platform || !reservedPlatformNames.contains(name.lowercased()) else {
            throw CredentialError("'\(name)' is reserved and cannot name a platform")
        }
    }

    /// Reads the principal of a DER-encoded certificate.
    public init(derEncoded bytes: [UInt8]) throws(CredentialError) {
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: bytes)
        } catch {
            throw CredentialError("the certificate does not parse: \(error)")
        }
        try self.init(certificate: certificate)
    }
}

/// A credential that cannot be made, read or used, with what is wrong.
public struct CredentialError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, and where.
    public let description: String

    /// Creates an error.
    public init(_ description: String) { self.description = description }
}

extension Certificate.SerialNumber {
    /// The serial number in lower-case hexadecimal, two digits a byte, as the deny list writes it.
    public var hex: String {
        bytes.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }
}

/// The certificate authority of a small deployment: a directory holding the CA's certificate and key,
/// the server's, and the deny list (`ledgerctl credentials`, docs/security.md).
///
/// ```
/// DIR/ca.pem  ca.key  server.pem  server.key  deny.txt  clients/NAME.pem  clients/NAME.key
/// ```
/// Keys are written with mode 0600 and the directory with 0700.
public struct CertificateAuthority: Sendable {
    /// The organisation every certificate of this product names.
    public static let organization = "tracing-ledger"

    /// The directory.
    public let directory: String
    /// The CA's certificate.
    public let certificate: Certificate
    private let key: P256.Signing.PrivateKey

    /// The files of a credentials directory.
    public enum File {
        /// The CA's certificate (PEM): what clients and the server trust.
        public static let caCertificate = "ca.pem"
        /// The CA's private key (PEM, 0600).
        public static let caKey = "ca.key"
        /// The server's certificate (PEM).
        public static let serverCertificate = "server.pem"
        /// The server's private key (PEM, 0600).
        public static let serverKey = "server.key"
        /// Serial numbers refused by the server, one a line (`#` starts a comment).
        public static let denyList = "deny.txt"
        /// Where client certificates are written.
        public static let clients = "clients"
    }

    /// The path of `file` in this directory.
    public func path(_ file: String) -> String { directory + "/" + file }

    /// Opens the authority of `directory`.
    public init(directory: String) throws(CredentialError) {
        self.directory = directory
        let certificatePEM = try readText(directory + "/" + File.caCertificate, what: "the CA's certificate")
        let keyPEM = try readText(directory + "/" + File.caKey, what: "the CA's key")
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw CredentialError("\(directory)/\(File.caCertificate): not a PEM certificate: \(error)")
        }
        do {
            key = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
        } catch {
            throw CredentialError("\(directory)/\(File.caKey): not a P-256 private key in PEM: \(error)")
        }
    }

    /// Creates a new authority in `directory` (which must not hold one yet), with the server's
    /// certificate for `hosts` (DNS names or IP addresses) and an empty deny list.
    @discardableResult
    public static func create(
        in directory: String, name: String = "tracing-ledger CA", serverHosts hosts: [String],
        days: Int = 825, now: Date = Date()
    ) throws(CredentialError) -> CertificateAuthority {
        guard !hosts.isEmpty else {
            throw CredentialError("the server needs at least one host name or address")
        }
        guard days >= 1 else { throw CredentialError("--days must be at least 1") }
        if FileManager.default.fileExists(atPath: directory + "/" + File.caKey) {
            throw CredentialError("\(directory): already holds a CA (\(File.caKey)); choose a new directory")
        }
        try makeDirectory(directory)
        try makeDirectory(directory + "/" + File.clients)
        let key = P256.Signing.PrivateKey()
        let subject: DistinguishedName
        let certificate: Certificate
        do {
            subject = try DistinguishedName {
                OrganizationName(organization)
                CommonName(name)
            }
            certificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                notValidBefore: now.addingTimeInterval(-300),
                notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
                issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: Certificate.PublicKey(key.publicKey))
                },
                issuerPrivateKey: .init(key))
        } catch {
            throw CredentialError("cannot make the CA's certificate: \(error)")
        }
        try writeFile(directory + "/" + File.caKey, key.pemRepresentation, secret: true)
        try writeFile(directory + "/" + File.caCertificate, try pem(certificate))
        try writeFile(
            directory + "/" + File.denyList,
            "# Serial numbers of revoked client certificates, one a line; ledgerd rereads this file\n"
                + "# when it changes ('ledgerctl credentials revoke' appends to it).\n")
        let authority = try CertificateAuthority(directory: directory)
        let server = try authority.issueServer(hosts: hosts, days: days, now: now)
        try writeFile(directory + "/" + File.serverKey, server.key, secret: true)
        try writeFile(directory + "/" + File.serverCertificate, server.certificate)
        return authority
    }

    /// A certificate and its key, both PEM.
    public struct Issued: Sendable {
        /// The certificate (PEM).
        public let certificate: String
        /// The private key (PEM).
        public let key: String
        /// The serial number, hex.
        public let serial: String
    }

    /// Issues the server's certificate for `hosts`.
    public func issueServer(hosts: [String], days: Int, now: Date = Date()) throws(CredentialError) -> Issued
    {
        let names: [GeneralName] = hosts.map { host in
            if let address = ipAddressBytes(host) {
                return .ipAddress(ASN1OctetString(contentBytes: address[...]))
            }
            return .dnsName(host)
        }
        return try issue(
            subject: {
                try DistinguishedName {
                    OrganizationName(Self.organization)
                    CommonName(hosts[0])
                }
            },
            notBefore: now.addingTimeInterval(-300), notAfter: now.addingTimeInterval(Double(days) * 86_400),
            extensions: {
                try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.serverAuth])
                    SubjectAlternativeNames(names)
                }
            })
    }

    /// Issues a client certificate naming `name` with `role`, valid from `notBefore` to `notAfter`.
    public func issueClient(name: String, role: Role, notBefore: Date, notAfter: Date) throws(CredentialError)
        -> Issued
    {
        let name = name.precomposedStringWithCanonicalMapping
        try Principal.checkName(name, role: role)
        guard notAfter > notBefore else {
            throw CredentialError("the certificate would end (\(notAfter)) before it starts (\(notBefore))")
        }
        return try issue(
            subject: {
                try DistinguishedName {
                    OrganizationName(Self.organization)
                    OrganizationalUnitName(role.rawValue)
                    CommonName(name)
                }
            },
            notBefore: notBefore, notAfter: notAfter,
            extensions: {
                try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.clientAuth])
                }
            })
    }

    private func issue(
        subject: () throws -> DistinguishedName, notBefore: Date, notAfter: Date,
        extensions: () throws -> Certificate.Extensions
    ) throws(CredentialError) -> Issued {
        let leaf = P256.Signing.PrivateKey()
        let serial = Certificate.SerialNumber()
        do {
            let certificate = try Certificate(
                version: .v3, serialNumber: serial, publicKey: .init(leaf.publicKey),
                notValidBefore: notBefore,
                notValidAfter: notAfter, issuer: self.certificate.subject, subject: try subject(),
                signatureAlgorithm: .ecdsaWithSHA256, extensions: try extensions(),
                issuerPrivateKey: .init(key))
            return Issued(certificate: try pem(certificate), key: leaf.pemRepresentation, serial: serial.hex)
        } catch let error as CredentialError {
            throw error
        } catch {
            throw CredentialError("cannot issue the certificate: \(error)")
        }
    }

    /// Where ``save(_:as:)`` writes the certificate of `name`: `clients/FILE.pem`, where FILE is `name`
    /// with characters other than letters, digits, `-`, `_` and `.` replaced by `_`.
    public func clientCertificatePath(_ name: String) -> String {
        clientBase(name) + ".pem"
    }

    private func clientBase(_ name: String) -> String {
        let file = String(
            name.precomposedStringWithCanonicalMapping.map { character -> Character in
                character.isLetter || character.isNumber || "-_.".contains(character) ? character : "_"
            })
        return directory + "/" + File.clients + "/" + file
    }

    /// Writes an issued client certificate to `clients/FILE.pem` and `clients/FILE.key` (0600)
    /// (``clientCertificatePath(_:)``), replacing those of an earlier certificate of the same name.
    public func save(_ issued: Issued, as name: String) throws(CredentialError) -> (
        certificate: String, key: String
    ) {
        let base = clientBase(name)
        try makeDirectory(directory + "/" + File.clients)
        try writeFile(base + ".key", issued.key, secret: true, replacing: true)
        try writeFile(base + ".pem", issued.certificate, replacing: true)
        return (base + ".pem", base + ".key")
    }
}

/// Serial numbers the server refuses (`deny.txt`): one a line, hexadecimal with or without colons,
/// anything after `#` a comment.
public struct DenyList: Sendable, Equatable {
    /// The serial numbers, lower-case hex without colons.
    public var serials: Set<String>

    /// A list of `serials` (lower-case hex without colons); empty by default.
    public init(serials: Set<String> = []) { self.serials = serials }

    /// Parses the text of a deny list.
    /// - Throws: ``CredentialError`` naming the line that is not a serial number.
    public init(text: String, path: String = DenyList.defaultName) throws(CredentialError) {
        serials = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.prefix { $0 != "#" }.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty else { continue }
            let serial = line.replacingOccurrences(of: ":", with: "").lowercased()
            guard serial.count.isMultiple(of: 2), serial.allSatisfy(\.isHexDigit) else {
                throw CredentialError("\(path):\(index + 1): '\(line)' is not a serial number in hexadecimal")
            }
            serials.insert(serial)
        }
    }

    /// The name of a deny list in a credentials directory.
    public static let defaultName = CertificateAuthority.File.denyList

    /// Reads the deny list at `path`.
    public static func load(_ path: String) throws(CredentialError) -> DenyList {
        try DenyList(text: readText(path, what: "the deny list"), path: path)
    }

    /// Appends `serial` to the deny list at `path` (a line with `comment`), durably.
    public static func revoke(serial: String, comment: String, in path: String) throws(CredentialError) {
        let serial = serial.replacingOccurrences(of: ":", with: "").lowercased()
        guard !serial.isEmpty, serial.count.isMultiple(of: 2), serial.allSatisfy(\.isHexDigit) else {
            throw CredentialError("'\(serial)' is not a serial number in hexadecimal")
        }
        let line =
            serial + (comment.isEmpty ? "" : "  # " + comment.replacingOccurrences(of: "\n", with: " "))
            + "\n"
        try writeFile(path, line, appending: true, what: "the deny list")
    }
}

func pem(_ certificate: Certificate) throws(CredentialError) -> String {
    do {
        return try certificate.serializeAsPEM().pemString + "\n"
    } catch {
        throw CredentialError("cannot encode the certificate: \(error)")
    }
}

func readText(_ path: String, what: String) throws(CredentialError) -> String {
    do {
        return try String(contentsOfFile: path, encoding: .utf8)
    } catch {
        let reason =
            !FileManager.default.fileExists(atPath: path)
            ? "no such file"
            : !FileManager.default.isReadableFile(atPath: path)
                ? "permission denied" : error.localizedDescription
        throw CredentialError("\(path): cannot read \(what): \(reason)")
    }
}

func makeDirectory(_ path: String) throws(CredentialError) {
    do {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    } catch {
        throw CredentialError("\(path): cannot create the directory: \(error.localizedDescription)")
    }
}

/// Writes `text` to `path` durably (0600 when `secret`, else 0644): a new file, refusing to replace
/// one unless `replacing`, or the end of the file when `appending`.
func writeFile(
    _ path: String, _ text: String, secret: Bool = false, replacing: Bool = false, appending: Bool = false,
    what: String = "the file"
) throws(CredentialError) {
    if replacing { unlink(path) }
    let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (appending ? O_APPEND : O_EXCL)
    let fd = open(path, flags, secret ? 0o600 : 0o644)
    guard fd >= 0 else {
        throw CredentialError("\(path): cannot open \(what): \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
        throw CredentialError("\(path): cannot write \(what): \(String(cString: strerror(errno)))")
    }
}

/// The bytes of an IPv4 or IPv6 address written as text, or nil when `host` is a name.
func ipAddressBytes(_ host: String) -> [UInt8]? {
    var v4 = in_addr()
    if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
    return nil
}
