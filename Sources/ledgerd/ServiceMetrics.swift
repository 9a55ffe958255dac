import Foundation
import Metrics
import Prometheus
import Synchronization

/// The service's metrics (swift-metrics, exposed by swift-prometheus at `/metrics`): appends, their
/// batch sizes and latency, group commits, refusals by problem type, subscribers and their lag, the
/// head, the map size, and catch-ups of the read model.
final class ServiceMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    private let appendedEvents: Metrics.Counter
    private let duplicateEvents: Metrics.Counter
    private let batchSize: Metrics.Recorder
    private let appendLatency: Metrics.Timer
    private let subscribers: Metrics.Meter
    private let lag: Metrics.Gauge
    private let slowClosed: Metrics.Counter
    private let headPosition: Metrics.Gauge
    private let caughtUpEvents: Metrics.Counter
    private let catchUpLatency: Metrics.Timer
    let mapSize: Metrics.Gauge
    let fileSize: Metrics.Gauge
    let groupCommits: Metrics.Gauge

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets["ledgerd_append_batch_events"] = [
            1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000,
        ]
        factory.durationHistogramBuckets["ledgerd_append_duration_seconds"] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        self.factory = factory
        appendedEvents = Metrics.Counter(label: "ledgerd_events_appended_total", factory: factory)
        duplicateEvents = Metrics.Counter(label: "ledgerd_events_duplicate_total", factory: factory)
        batchSize = Metrics.Recorder(label: "ledgerd_append_batch_events", factory: factory)
        appendLatency = Metrics.Timer(label: "ledgerd_append_duration_seconds", factory: factory)
        subscribers = Metrics.Meter(label: "ledgerd_subscribers", factory: factory)
        lag = Metrics.Gauge(label: "ledgerd_subscriber_lag_events", factory: factory)
        slowClosed = Metrics.Counter(label: "ledgerd_subscribers_closed_slow_total", factory: factory)
        headPosition = Metrics.Gauge(label: "ledgerd_head_position", factory: factory)
        caughtUpEvents = Metrics.Counter(label: "ledgerd_read_model_events_folded_total", factory: factory)
        catchUpLatency = Metrics.Timer(
            label: "ledgerd_read_model_catch_up_duration_seconds", factory: factory)
        mapSize = Metrics.Gauge(label: "ledgerd_map_size_bytes", factory: factory)
        fileSize = Metrics.Gauge(label: "ledgerd_file_size_bytes", factory: factory)
        groupCommits = Metrics.Gauge(label: "ledgerd_group_commits", factory: factory)
    }

    func appended(events: Int, duplicates: Int, duration: Duration) {
        appendedEvents.increment(by: events)
        duplicateEvents.increment(by: duplicates)
        batchSize.record(events + duplicates)
        appendLatency.recordNanoseconds(duration.nanoseconds)
    }

    func refused(_ problem: String) {
        Metrics.Counter(
            label: "ledgerd_appends_refused_total", dimensions: [("problem", problem)], factory: factory
        )
        .increment()
    }

    private let subscriberCount = Atomic<Int>(0)

    func subscriberJoined() {
        subscribers.increment()
        subscriberCount.add(1, ordering: .relaxed)
    }

    func subscriberLeft() {
        subscribers.decrement()
        // With nobody subscribed, nobody lags.
        if subscriberCount.subtract(1, ordering: .relaxed).newValue == 0 { lag.record(0) }
    }
    /// The lag (events behind the head) of the subscriber that last wrote.
    func subscriberLag(_ events: Int) { lag.record(max(events, 0)) }
    func subscriberClosedSlow() { slowClosed.increment() }
    func head(_ position: UInt64) { headPosition.record(Int64(clamping: position)) }

    func caughtUp(events: Int, duration: Duration) {
        caughtUpEvents.increment(by: events)
        catchUpLatency.recordNanoseconds(duration.nanoseconds)
    }

    /// The Prometheus text form of every metric.
    func exposition() -> String { registry.emitToString() }
}

extension Duration {
    /// The duration in whole nanoseconds.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
