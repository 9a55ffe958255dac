import Credentials
import Crypto
import Foundation
import Testing
import X509

@Suite("credentials: the CA, client certificates and the deny list")
struct CredentialsTests {
    func scratch() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("credentials-\(UUID())").path
    }

    @Test("a client certificate names its principal (in NFC) and role, and is signed by the CA")
    func issuedCertificateNamesItsPrincipal() throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authority = try CertificateAuthority.create(
            in: directory, serverHosts: ["localhost", "127.0.0.1"])
        let now = Date()
        let issued = try authority.issueClient(
            name: "He\u{301}le\u{300}ne", role: .statistician, notBefore: now, notAfter: now + 86_400)
        let certificate = try Certificate(pemEncoded: issued.certificate)
        let principal = try Principal(certificate: certificate)
        #expect(principal == Principal(name: "Hélène", role: .statistician, serial: issued.serial))
        #expect(principal.name.unicodeScalars.count == 6)
        #expect(certificate.issuer == authority.certificate.subject)
        #expect(
            authority.certificate.publicKey.isValidSignature(certificate.signature, for: certificate))
        for key in [CertificateAuthority.File.caKey, CertificateAuthority.File.serverKey] {
            let mode = try FileManager.default.attributesOfItem(atPath: directory + "/" + key)[
                .posixPermissions]
            #expect((mode as? NSNumber)?.intValue == 0o600, "\(key)")
        }
    }

    @Test("a second init in the same directory is refused; the first CA stays")
    func initRefusesAnExistingCA() throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try CertificateAuthority.create(in: directory, serverHosts: ["localhost"])
        #expect(throws: CredentialError.self) {
            try CertificateAuthority.create(in: directory, serverHosts: ["localhost"])
        }
        #expect(try CertificateAuthority(directory: directory).certificate == first.certificate)
    }

    @Test("a certificate without a role, or not of this product, names no principal")
    func foreignCertificatesNameNoPrincipal() throws {
        let key = P256Key()
        for subject in [
            try DistinguishedName { CommonName("cpam-34") },
            try DistinguishedName {
                OrganizationName("tracing-ledger")
                OrganizationalUnitName("superuser")
                CommonName("cpam-34")
            },
            try DistinguishedName {
                OrganizationName("tracing-ledger")
                OrganizationalUnitName("platform")
            },
        ] {
            let certificate = try key.selfSigned(subject)
            #expect(throws: CredentialError.self) { try Principal(certificate: certificate) }
        }
    }

    @Test("a deny list accepts comments and colons, and names the line that is not a serial")
    func denyListParsing() throws {
        let list = try DenyList(text: "# revoked\n0A:1b:2c  # lost laptop\n\nff00\n")
        #expect(list.serials == ["0a1b2c", "ff00"])
        #expect(throws: CredentialError("deny.txt:3: 'not-a-serial' is not a serial number in hexadecimal")) {
            try DenyList(text: "00ff\n\nnot-a-serial\n")
        }
    }

    @Test("revoke appends to the deny list, which then denies that serial")
    func revokeAppends() throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authority = try CertificateAuthority.create(in: directory, serverHosts: ["localhost"])
        let path = authority.path(CertificateAuthority.File.denyList)
        try DenyList.revoke(serial: "AB:CD", comment: "test", in: path)
        #expect(try DenyList.load(path).serials == ["abcd"])
        #expect(throws: CredentialError.self) { try DenyList.revoke(serial: "xyz", comment: "", in: path) }
    }
}

/// A self-signed certificate with any subject, for certificates not made by a CertificateAuthority.
struct P256Key {
    let key = Certificate.PrivateKey(P256.Signing.PrivateKey())

    func selfSigned(_ subject: DistinguishedName) throws -> Certificate {
        try Certificate(
            version: .v3, serialNumber: .init(), publicKey: key.publicKey, notValidBefore: Date(),
            notValidAfter: Date() + 3600, issuer: subject, subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: Certificate.Extensions(), issuerPrivateKey: key)
    }
}
