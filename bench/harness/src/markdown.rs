//! The markdown summary (`bench/results/<date>.md`).

use std::fmt::Write as _;

use plugboard_loadgen::{Outcome, Scenario};

use crate::results::Results;

/// Columns shown per scenario, besides the server and the outcome.
fn columns(scenario: &str) -> &'static [&'static str] {
    match scenario {
        "ping" => &[
            "round_trips_per_s",
            "rtt_p50_us",
            "rtt_p99_us",
            "rtt_p999_us",
            "failed_sockets",
        ],
        "typing" => &[
            "events_sent_per_s",
            "deliveries_per_s",
            "delivery_ratio",
            "typing_p50_us",
            "typing_p99_us",
            "typing_p999_us",
            "errors",
        ],
        "fanout" => &[
            "publishes_per_s",
            "delivered_per_s",
            "delivery_ratio",
            "delivery_p50_us",
            "delivery_p99_us",
            "dropped_subscribers",
        ],
        "hold" => &[
            "connections",
            "held_to_end",
            "rss_per_conn_bytes",
            "rss_before_kib",
            "rss_connected_kib",
            "rss_after_disconnect_kib",
        ],
        "queue" => &[
            "users",
            "matches_per_s",
            "join_to_match_p50_us",
            "join_to_match_p99_us",
            "refused_joins",
            "failed_users",
        ],
        "churn" => &[
            "connects_per_s",
            "connect_p50_us",
            "connect_p99_us",
            "failures",
            "rss_growth_kib",
        ],
        _ => &[],
    }
}

/// Formats a number: integers with thousands separators, small values with 2 decimals.
pub fn fmt_num(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 {
        let n = v.round() as i64;
        let digits = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if n < 0 { format!("-{out}") } else { out }
    } else {
        format!("{v:.2}")
    }
}

/// Renders the whole summary.
pub fn render(results: &Results, scenarios: &[Scenario]) -> String {
    let mut md = String::new();
    let m = &results.machine;
    let _ = writeln!(md, "# plugboard benchmarks, {}\n", results.date);
    let _ = writeln!(
        md,
        "Machine: {} ({} cores, {} GiB), open-files limit {}, git `{}`. Load generator and server share the machine.\n",
        m.cpu_model,
        m.cores,
        m.mem_gib,
        m.open_files_limit
            .map(|l| l.to_string())
            .unwrap_or_else(|| "?".into()),
        m.git.as_deref().unwrap_or("?")
    );
    let p = &results.params;
    let _ = writeln!(
        md,
        "Parameters: {} connections, {} s measured after {} s warm-up, {} round(s); typing {} ev/s per agent; fanout {} subscribers/entity at {} publishes/s over {} HTTP connections; churn {} loops.\n",
        p.connections,
        p.duration_secs,
        p.warmup_secs,
        p.rounds,
        p.typing_rate_per_agent,
        p.fanout_subscribers,
        p.fanout_publish_rate,
        p.fanout_publishers,
        p.churn_workers
    );
    if !results.ratios.is_empty() {
        let _ = writeln!(
            md,
            "## Headline ratios\n\n| scenario | metric | ratio | value | better when |\n|---|---|---|---:|---|"
        );
        for r in &results.ratios {
            let better = if r.higher_is_better {
                "higher"
            } else {
                "lower"
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} / {} | {:.2}x | {} |",
                r.scenario, r.metric, r.numerator, r.denominator, r.value, better
            );
        }
        let _ = writeln!(md);
    }
    for scenario in scenarios {
        let mut cols = columns(scenario.name()).to_vec();
        let extra = crate::callgrind::columns(scenario.name());
        let measured_cg = extra.first().is_some_and(|per| {
            results
                .runs
                .iter()
                .any(|r| r.scenario == scenario.name() && r.report.metric(per).is_some())
        });
        if measured_cg {
            cols.extend(extra);
        }
        let _ = writeln!(md, "## {}\n", scenario.name());
        let _ = write!(md, "| server | round | outcome |");
        for c in &cols {
            let _ = write!(md, " {c} |");
        }
        let _ = write!(md, "\n|---|---:|---|");
        for _ in &cols {
            let _ = write!(md, "---:|");
        }
        let _ = writeln!(md);
        for run in results
            .runs
            .iter()
            .filter(|r| r.scenario == scenario.name())
        {
            let outcome = match &run.report.outcome {
                Outcome::Completed => "ok".to_owned(),
                Outcome::Unsupported(why) => format!("unsupported: {}", one_line(why)),
                Outcome::Failed(why) => format!("failed: {}", one_line(why)),
            };
            let _ = write!(md, "| {} | {} | {} |", run.server, run.round, outcome);
            for c in &cols {
                let cell = run
                    .report
                    .metric(c)
                    .map(fmt_num)
                    .unwrap_or_else(|| "-".into());
                let _ = write!(md, " {cell} |");
            }
            let _ = writeln!(md);
        }
        let _ = writeln!(md);
    }
    md
}

fn one_line(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c == '|' || c == '\n' { ' ' } else { c })
        .collect();
    flat.chars().take(160).collect()
}

#[cfg(test)]
mod tests {
    use super::fmt_num;

    #[test]
    fn formats_numbers() {
        assert_eq!(fmt_num(1234567.4), "1,234,567");
        assert_eq!(fmt_num(999.6), "1,000");
        assert_eq!(fmt_num(0.987), "0.99");
        assert_eq!(fmt_num(12.0), "12");
        assert_eq!(fmt_num(-4096.0), "-4,096");
    }
}
