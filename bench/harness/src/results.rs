//! The result file: every run, the machine, the parameters, and the ratios.

use plugboard_loadgen::{Scenario, ScenarioReport};
use serde::Serialize;

use crate::machine::Machine;
use crate::servers::ServerKind;

/// One scenario run against one server.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// Scenario name.
    pub scenario: String,
    /// Server name.
    pub server: String,
    /// Round (0-based) when several rounds ran.
    pub round: usize,
    /// Wall-clock seconds the run took, setup included.
    pub wall_secs: f64,
    /// What the load generator measured.
    pub report: ScenarioReport,
}

/// A `plugboard / baseline` (or `server / node`) ratio of a scenario's headline metric.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    /// Scenario name.
    pub scenario: String,
    /// Headline metric name.
    pub metric: String,
    /// Numerator server.
    pub numerator: String,
    /// Denominator server.
    pub denominator: String,
    /// The ratio of the medians over rounds.
    pub value: f64,
    /// Whether a larger headline value is better (so a ratio above 1 favours the numerator).
    pub higher_is_better: bool,
}

/// Parameters recorded with the results.
#[derive(Debug, Clone, Serialize)]
pub struct RunParams {
    /// Connections requested (scenario default when absent).
    pub connections: usize,
    /// Measured seconds per run.
    pub duration_secs: u64,
    /// Warm-up seconds per run.
    pub warmup_secs: u64,
    /// Rounds.
    pub rounds: usize,
    /// `typing` events per agent per second.
    pub typing_rate_per_agent: f64,
    /// `fanout` subscribers per entity.
    pub fanout_subscribers: usize,
    /// `fanout` publishes per second.
    pub fanout_publish_rate: f64,
    /// `fanout` publishing HTTP connections.
    pub fanout_publishers: usize,
    /// `churn` parallel loops.
    pub churn_workers: usize,
}

/// The whole result file.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// The machine.
    pub machine: Machine,
    /// The parameters.
    pub params: RunParams,
    /// Every run, in execution order.
    pub runs: Vec<Run>,
    /// Headline ratios.
    pub ratios: Vec<Ratio>,
}

/// Median headline value of a server's completed runs of a scenario.
pub fn median_headline(runs: &[Run], scenario: Scenario, server: ServerKind) -> Option<f64> {
    let mut values: Vec<f64> = runs
        .iter()
        .filter(|r| r.scenario == scenario.name() && r.server == server.name())
        .filter_map(|r| r.report.headline_value())
        .collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// Ratios of plugboard to every other server, and of every server to Node.
pub fn ratios(runs: &[Run], scenarios: &[Scenario], servers: &[ServerKind]) -> Vec<Ratio> {
    let mut out = Vec::new();
    for &scenario in scenarios {
        // The runs' own headline (callgrind runs lead with instructions), else the scenario's.
        let (metric, higher_is_better) = runs
            .iter()
            .find(|r| r.scenario == scenario.name() && r.report.headline_value().is_some())
            .map(|r| (r.report.headline, r.report.higher_is_better))
            .unwrap_or_else(|| scenario.headline());
        let mut pairs = Vec::new();
        for &other in servers.iter().filter(|&&s| s != ServerKind::Plugboard) {
            pairs.push((ServerKind::Plugboard, other));
        }
        for &s in servers
            .iter()
            .filter(|&&s| s != ServerKind::Node && s != ServerKind::Plugboard)
        {
            pairs.push((s, ServerKind::Node));
        }
        for (num, den) in pairs {
            let (Some(a), Some(b)) = (
                median_headline(runs, scenario, num),
                median_headline(runs, scenario, den),
            ) else {
                continue;
            };
            if b > 0.0 {
                out.push(Ratio {
                    scenario: scenario.name().into(),
                    metric: metric.into(),
                    numerator: num.name().into(),
                    denominator: den.name().into(),
                    value: a / b,
                    higher_is_better,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_loadgen::ScenarioReport;

    fn run(server: ServerKind, value: f64) -> Run {
        let mut report = ScenarioReport::new("round_trips_per_s", true);
        report.push("round_trips_per_s", value, "1/s");
        Run {
            scenario: "ping".into(),
            server: server.name().into(),
            round: 0,
            wall_secs: 1.0,
            report,
        }
    }

    #[test]
    fn medians_and_ratios() {
        let runs = vec![
            run(ServerKind::Plugboard, 300.0),
            run(ServerKind::Plugboard, 100.0),
            run(ServerKind::Plugboard, 200.0),
            run(ServerKind::Node, 40.0),
        ];
        assert_eq!(
            median_headline(&runs, Scenario::Ping, ServerKind::Plugboard),
            Some(200.0)
        );
        let r = ratios(
            &runs,
            &[Scenario::Ping],
            &[ServerKind::Plugboard, ServerKind::Node],
        );
        assert_eq!(r.len(), 1);
        assert!((r[0].value - 5.0).abs() < 1e-9);
    }
}
