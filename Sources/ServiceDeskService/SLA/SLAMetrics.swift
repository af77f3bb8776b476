internal import GRDB
public import ServiceRuntime

/// ServiceDesk's gauges on the admin listener, read from the SLA clocks at each scrape: the clocks
/// running now by state, and how many warnings and breaches have fired (they only grow, so
/// `delta(...[15m])` is the burst an operator pages on; docs/OPERATIONS.md).
public enum SLAMetrics {
    public static let gauges: [DatabaseGauge] = [
        DatabaseGauge(metric: "sla_clocks", unit: "open", help: "SLA clocks of open cases, by metric and state.") { db in
            try StatementRow.readAll(db, sql: "SELECT metric, state, count(*) FROM sla_clock WHERE stopped_at_ms IS NULL GROUP BY metric, state ORDER BY 1, 2") { row in ([("metric", row[0] as String), ("state", row[1] as String)], Double(row[2] as Int)) }
        },
        DatabaseGauge(metric: "sla_warnings", unit: "fired", help: "SLA warnings fired since the database was created, by metric.") { db in
            try StatementRow.readAll(db, sql: "SELECT metric, sum(warning_fired) FROM sla_clock GROUP BY metric ORDER BY 1") { row in ([("metric", row[0] as String)], Double(row[1] as Int)) }
        },
        DatabaseGauge(metric: "sla_breaches", unit: "fired", help: "SLA breaches fired since the database was created, by metric.") { db in
            try StatementRow.readAll(db, sql: "SELECT metric, sum(breach_fired) FROM sla_clock GROUP BY metric ORDER BY 1") { row in ([("metric", row[0] as String)], Double(row[1] as Int)) }
        },
    ]
}
