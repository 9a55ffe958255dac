import ArgumentParser
import Credentials
import Foundation
import X509

/// `ledgerctl credentials`: the certificate authority of a small deployment of `ledgerd`.
struct CredentialsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credentials",
        abstract: "Make the certificates ledgerd and its clients need (mutual TLS; docs/security.md).",
        discussion: """
            A credentials directory holds a CA (ca.pem, ca.key), the server's certificate (server.pem, \
            server.key), the deny list (deny.txt) and client certificates (clients/NAME.pem, NAME.key). \
            Keys are written with mode 0600. A client certificate names its principal (the subject's \
            common name: a platform's id such as cpam-34, or a person) and its role (platform, \
            statistician or administrator), and has an expiry date.
            """,
        subcommands: [
            CredentialsInit.self, CredentialsIssue.self, CredentialsRevoke.self, CredentialsShow.self,
        ])
}

/// Options of the commands that work in a credentials directory.
struct CredentialsDirectory: ParsableArguments {
    @Option(name: .customLong("dir"), help: "The credentials directory (default: ./credentials).")
    var directory = "credentials"

    func authority() throws -> CertificateAuthority {
        do {
            return try CertificateAuthority(directory: directory)
        } catch {
            throw Failure(
                .io, error.description + " (create the directory with 'ledgerctl credentials init')")
        }
    }
}

struct CredentialsInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a CA, the server's certificate and an empty deny list in a new directory.")

    @OptionGroup var credentials: CredentialsDirectory
    @Option(
        name: .customLong("host"),
        help: "A DNS name or IP address of the server, repeated (default: localhost, 127.0.0.1 and ::1).")
    var hosts: [String] = []
    @Option(help: "Days the CA and the server's certificate are valid.") var days = 825

    func run() throws {
        let hosts = self.hosts.isEmpty ? ["localhost", "127.0.0.1", "::1"] : self.hosts
        let authority: CertificateAuthority
        do {
            authority = try CertificateAuthority.create(
                in: credentials.directory, serverHosts: hosts, days: days)
        } catch {
            throw Failure(.io, error.description)
        }
        print("CA:      \(authority.path(CertificateAuthority.File.caCertificate))")
        print(
            "server:  \(authority.path(CertificateAuthority.File.serverCertificate)) for \(hosts.joined(separator: ", "))"
        )
        print("deny:    \(authority.path(CertificateAuthority.File.denyList))")
    }
}

struct CredentialsIssue: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Issue a client certificate naming a principal and its role.",
        discussion: """
            Writes clients/NAME.pem and clients/NAME.key (0600) and prints their paths and the serial \
            number. A platform's NAME is its id (the 'platform' of its events).
            """)

    @OptionGroup var credentials: CredentialsDirectory
    @Option(help: "platform, statistician or administrator.") var role: Role
    @Option(help: "The principal: a platform's id (cpam-34), or a person's or a tool's name.") var name:
        String
    @Option(help: "Days the certificate is valid from --valid-from.") var days = 365
    @Option(help: "The first day it is valid, YYYY-MM-DD (default: now).") var validFrom: String?
    @Option(help: "The day it expires, YYYY-MM-DD (instead of --days).") var validUntil: String?

    func run() throws {
        let authority = try credentials.authority()
        let start =
            try validFrom.map { try day($0, option: "--valid-from") } ?? Date().addingTimeInterval(-300)
        let end =
            try validUntil.map { try day($0, option: "--valid-until") }
            ?? start.addingTimeInterval(Double(days) * 86_400)
        guard validUntil != nil || days >= 1 else { throw Failure(.badInput, "--days must be at least 1") }
        let issued: CertificateAuthority.Issued
        let files: (certificate: String, key: String)
        let earlier = authority.clientCertificatePath(name)
        let replacing = FileManager.default.fileExists(atPath: earlier)
        do {
            issued = try authority.issueClient(name: name, role: role, notBefore: start, notAfter: end)
            files = try authority.save(issued, as: name)
        } catch {
            throw Failure(.badInput, error.description)
        }
        if replacing {
            note(
                "\(earlier) was replaced: the certificate it held stays valid until it expires, unless it was "
                    + "revoked ('ledgerctl credentials revoke --serial SERIAL')")
        }
        print("certificate: \(files.certificate)")
        print("key:         \(files.key)")
        print("serial:      \(issued.serial)")
        print(
            "principal:   \(role.rawValue) \(name.precomposedStringWithCanonicalMapping), valid until \(end)")
    }

    func day(_ text: String, option: String) throws -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        guard let date = formatter.date(from: text) else {
            throw Failure(.badInput, "\(option) '\(text)': not a date YYYY-MM-DD")
        }
        return date
    }
}

extension Role: ExpressibleByArgument {}

struct CredentialsRevoke: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Add a client certificate to the deny list; a running ledgerd refuses it from then on.")

    @OptionGroup var credentials: CredentialsDirectory
    @Option(help: "The serial number to revoke, hexadecimal.") var serial: String?
    @Option(help: "The certificate file to revoke (PEM), instead of --serial.") var cert: String?
    @Option(help: "Why, kept as a comment in the deny list.") var reason = ""

    func validate() throws {
        guard (serial == nil) != (cert == nil) else {
            throw ValidationError("give either --serial or --cert")
        }
    }

    func run() throws {
        var target = serial ?? ""
        var comment = reason
        if let cert {
            let shown = try CredentialsShow.principal(ofFile: cert)
            target = shown.serial
            comment = "\(shown.role.rawValue) \(shown.name)" + (reason.isEmpty ? "" : ": \(reason)")
        }
        do {
            try DenyList.revoke(
                serial: target, comment: comment,
                in: credentials.directory + "/" + CertificateAuthority.File.denyList)
        } catch {
            throw Failure(.badInput, error.description)
        }
        print("revoked \(target)")
    }
}

struct CredentialsShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the principal, role, serial number and validity of a certificate.")

    @Argument(help: "The certificate file (PEM).") var cert: String

    func run() throws {
        let certificate = try Self.certificate(ofFile: cert)
        let principal = try Self.principal(ofFile: cert)
        print("principal: \(principal.name)")
        print("role:      \(principal.role.rawValue)")
        print("serial:    \(principal.serial)")
        print("valid:     \(certificate.notValidBefore) to \(certificate.notValidAfter)")
    }

    static func certificate(ofFile path: String) throws -> Certificate {
        let text = String(decoding: try readInputFile(path, what: "certificate"), as: UTF8.self)
        do {
            return try Certificate(pemEncoded: text)
        } catch {
            throw Failure(.badInput, "\(path): not a PEM certificate: \(error)")
        }
    }

    static func principal(ofFile path: String) throws -> Principal {
        do {
            return try Principal(certificate: certificate(ofFile: path))
        } catch let error as CredentialError {
            throw Failure(.badInput, "\(path): \(error)")
        }
    }
}
