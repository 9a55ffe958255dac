import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL

/// A load client for ledgerd that can present a client certificate (wrk cannot): N connections,
/// each posting batches of fresh events and waiting for the durable reply, for a number of seconds.
/// Prints one JSON line: requests, events, seconds, events per second, latency percentiles, errors.
///
/// Usage: http-load URL [--connections N] [--events N] [--seconds S] [--platform P]
///                      [--ca FILE --cert FILE --key FILE]
@main
struct HTTPLoad {
    static func main() async throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        guard !arguments.isEmpty else {
            FileHandle.standardError.write(Data("usage: http-load URL [options]\n".utf8))
            exit(64)
        }
        let url = arguments.removeFirst()
        var options = [String: String]()
        while arguments.count >= 2 { options[arguments.removeFirst()] = arguments.removeFirst() }
        let connections = Int(options["--connections"] ?? "64") ?? 64
        let perRequest = Int(options["--events"] ?? "1") ?? 1
        let seconds = Double(options["--seconds"] ?? "10") ?? 10
        let platform = options["--platform"] ?? "cpam-34"

        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = options["--ca"] { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) }
        if let cert = options["--cert"], let key = options["--key"] {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(30))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)

        let deadline = ContinuousClock.now + .seconds(seconds)
        let started = ContinuousClock.now
        let results = await withTaskGroup(of: ([Double], Int, Int).self) { group in
            for connection in 0..<connections {
                group.addTask {
                    var latencies = [Double]()
                    var errors = 0
                    var done = 0
                    var sequence = 0
                    while ContinuousClock.now < deadline {
                        var body = "["
                        for index in 0..<perRequest {
                            sequence += 1
                            if index > 0 { body += "," }
                            body +=
                                "{\"id\":\"\(UUID().uuidString)\",\"stream\":\"\(platform)/p0/load-\(connection)-\(sequence)\","
                                + "\"type\":\"CallPlaced\",\"platform\":\"\(platform)\",\"occurredAt\":\"2021-03-01T10:00:00Z\","
                                + "\"data\":{\"direction\":\"OUTBOUND\",\"line\":\"MOBILE\",\"outcome\":\"REACHED\","
                                + "\"durationSeconds\":60,\"agent\":\"a-17\"}}"
                        }
                        body += "]"
                        var request = HTTPClientRequest(url: url + "/v1/events")
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: body))
                        let sent = ContinuousClock.now
                        do {
                            let response = try await client.execute(request, timeout: .seconds(30))
                            _ = try await response.body.collect(upTo: 1 << 20)
                            if (200..<300).contains(response.status.code) {
                                done += 1
                                let took = ContinuousClock.now - sent
                                latencies.append(
                                    Double(took.components.seconds) * 1_000
                                        + Double(took.components.attoseconds) / 1e15)
                            } else {
                                errors += 1
                            }
                        } catch {
                            errors += 1
                        }
                    }
                    return (latencies, done, errors)
                }
            }
            var all = ([Double](), 0, 0)
            for await (latencies, done, errors) in group {
                all.0 += latencies
                all.1 += done
                all.2 += errors
            }
            return all
        }
        let elapsed = ContinuousClock.now - started
        let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        try await client.shutdown()
        let sorted = results.0.sorted()
        func percentile(_ p: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        let line: [String: Double] = [
            "requests": Double(results.1), "events": Double(results.1 * perRequest), "seconds": wall,
            "eventsPerSecond": Double(results.1 * perRequest) / wall, "p50ms": percentile(0.5),
            "p99ms": percentile(0.99), "errors": Double(results.2),
        ]
        let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
