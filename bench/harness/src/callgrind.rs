//! `--callgrind`: the Rust servers run under valgrind's callgrind, and `ping`, `typing` and
//! `churn` report the server's instructions per round trip, per typing event (with its
//! fan-out to the ticket's other viewers) or per connect-and-disconnect in the measured
//! phase (counters zeroed when it starts, dumped when it ends). Instruction counts repeat from run to run on a shared
//! 2-core machine where throughput swings by 20%, so small framework overheads can be
//! compared and tracked. The dumps stay in `target/callgrind/<server>/` for
//! `callgrind_annotate` (`cg.<pid>.1` is the measured phase).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::Arc;

use plugboard_loadgen::{Phase, PhaseHook, Scenario, ScenarioReport};
use tokio::process::Command;

use crate::error::HarnessError;

/// Scenarios measured under callgrind.
pub const SCENARIOS: [Scenario; 3] = [Scenario::Ping, Scenario::Typing, Scenario::Churn];

/// The rate a scenario counts (per second of the measured phase) and the headline per unit
/// of it under callgrind.
pub fn unit(scenario: &str) -> Option<(&'static str, &'static str)> {
    match scenario {
        "ping" => Some(("round_trips_per_s", "instructions_per_round_trip")),
        "typing" => Some(("events_sent_per_s", "instructions_per_typing_event")),
        "churn" => Some(("connects_per_s", "instructions_per_connect")),
        _ => None,
    }
}

/// The columns a callgrind run adds to a scenario's table.
pub fn columns(scenario: &str) -> Vec<&'static str> {
    unit(scenario)
        .map(|(_, per)| vec![per, "server_instructions"])
        .unwrap_or_default()
}

/// Where a server's dumps go: `<dir>/cg.<pid>`, then `.1` for the measured phase.
pub fn out_base(dir: &Path) -> PathBuf {
    dir.join("cg")
}

/// `cmd` run under `valgrind --tool=callgrind`, writing to [`out_base`] of `dir`.
pub fn wrap(cmd: &Command, dir: &Path) -> Command {
    let std = cmd.as_std();
    let mut wrapped = Command::new("valgrind");
    wrapped
        .arg("--tool=callgrind")
        .arg(format!(
            "--callgrind-out-file={}.%p",
            out_base(dir).display()
        ))
        .arg(std.get_program())
        .args(std.get_args().map(OsString::from));
    if let Some(cwd) = std.get_current_dir() {
        wrapped.current_dir(cwd);
    }
    for (k, v) in std.get_envs() {
        if let Some(v) = v {
            wrapped.env(k, v);
        }
    }
    wrapped
}

/// Zeroes the counters of `pid` when measuring starts and dumps them when it ends.
pub fn hook(pid: u32) -> PhaseHook {
    PhaseHook(Arc::new(move |phase| {
        let flag = match phase {
            Phase::MeasureStart => "-z",
            Phase::MeasureEnd => "-d",
        };
        let ok = StdCommand::new("callgrind_control")
            .args([flag, &pid.to_string()])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!("callgrind_control {flag} {pid} failed");
        }
    }))
}

/// Instructions in the dump of the measured phase of `pid`.
pub fn measured_instructions(dir: &Path, pid: u32) -> Result<u64, HarnessError> {
    let file = PathBuf::from(format!("{}.{pid}.1", out_base(dir).display()));
    let text = std::fs::read_to_string(&file)
        .map_err(|e| HarnessError::Callgrind(format!("dump {}: {e}", file.display())))?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| HarnessError::Callgrind(format!("no totals in {}", file.display())))
}

/// Adds the counts to a report and makes instructions per unit its headline.
pub fn apply(scenario: &str, report: &mut ScenarioReport, instructions: u64, measured_secs: f64) {
    let Some((rate, per)) = unit(scenario) else {
        return;
    };
    let Some(rate) = report.metric(rate) else {
        return;
    };
    let units = rate * measured_secs;
    report.push("server_instructions", instructions as f64, "");
    if units > 0.0 {
        report.push(per, instructions as f64 / units, "");
    }
    report.headline = per;
    report.higher_is_better = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_totals_of_the_measured_dump() {
        let dir = std::env::temp_dir().join(format!("cg-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.join("cg.42.1"),
            "version: 1\nevents: Ir\nfn=main\n1 5\ntotals: 123456\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(measured_instructions(&dir, 42).ok(), Some(123_456));
        assert!(measured_instructions(&dir, 43).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn instructions_per_round_trip_becomes_the_headline() {
        let mut r = ScenarioReport::new("round_trips_per_s", true);
        r.push("round_trips_per_s", 1_000.0, "1/s");
        apply("ping", &mut r, 20_000_000, 10.0);
        assert_eq!(r.headline, "instructions_per_round_trip");
        assert!(!r.higher_is_better);
        assert_eq!(r.headline_value(), Some(2_000.0));
    }
}
