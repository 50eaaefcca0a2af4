//! What one scenario run against one server produced.

use serde::Serialize;

use crate::stats::Percentiles;

/// One named measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    /// Machine-readable name, e.g. `round_trips_per_s`.
    pub name: String,
    /// The value.
    pub value: f64,
    /// Unit, e.g. `1/s`, `us`, `KiB`.
    pub unit: &'static str,
}

/// How a run ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// The run completed; its metrics are in the report.
    Completed,
    /// The server does not implement what the scenario needs (error ack, 404, no answer).
    Unsupported(String),
    /// The run failed (connections refused, timeouts, server died).
    Failed(String),
}

/// The result of one scenario against one server.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// How the run ended.
    pub outcome: Outcome,
    /// Name of the metric the comparison table leads with.
    pub headline: &'static str,
    /// Whether a larger headline value is better (throughput) or worse (latency, memory).
    pub higher_is_better: bool,
    /// All measurements.
    pub metrics: Vec<Metric>,
}

impl ScenarioReport {
    /// An empty completed report with the given headline metric.
    pub fn new(headline: &'static str, higher_is_better: bool) -> Self {
        Self {
            outcome: Outcome::Completed,
            headline,
            higher_is_better,
            metrics: Vec::new(),
        }
    }

    /// A report for a run that did not complete.
    pub fn not_completed(headline: &'static str, higher_is_better: bool, outcome: Outcome) -> Self {
        Self {
            outcome,
            headline,
            higher_is_better,
            metrics: Vec::new(),
        }
    }

    /// Adds a metric.
    pub fn push(&mut self, name: impl Into<String>, value: f64, unit: &'static str) {
        self.metrics.push(Metric {
            name: name.into(),
            value,
            unit,
        });
    }

    /// Adds `<prefix>_p50_us`, `_p99_us`, `_p999_us`, `_max_us` and `_samples`.
    pub fn push_latency(&mut self, prefix: &str, p: Percentiles) {
        self.push(format!("{prefix}_p50_us"), p.p50_us as f64, "us");
        self.push(format!("{prefix}_p99_us"), p.p99_us as f64, "us");
        self.push(format!("{prefix}_p999_us"), p.p999_us as f64, "us");
        self.push(format!("{prefix}_max_us"), p.max_us as f64, "us");
        self.push(format!("{prefix}_samples"), p.count as f64, "");
    }

    /// The value of a metric by name.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.value)
    }

    /// The headline value, when the run completed.
    pub fn headline_value(&self) -> Option<f64> {
        match self.outcome {
            Outcome::Completed => self.metric(self.headline),
            _ => None,
        }
    }
}
