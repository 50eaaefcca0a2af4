//! `plugboard-bench`: the benchmark harness. Builds (if missing) and starts plugboard and
//! the comparison servers one at a time on free loopback ports, runs each selected
//! scenario against each server alternately, and writes `bench/results/<date>.json`,
//! `.md` and `.svg`. See `docs/performance.md`.

#![allow(clippy::print_stdout)]

mod callgrind;
mod cli;
mod date;
mod error;
mod machine;
mod markdown;
mod plot;
mod plugboard_config;
mod results;
mod servers;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use plugboard_loadgen::{Outcome, Params, Scenario, ScenarioReport, Target};

use crate::cli::Cli;
use crate::error::HarnessError;
use crate::machine::Machine;
use crate::results::{Results, Run, RunParams};
use crate::servers::{API_KEY, ServerKind, Workspace};

/// File descriptors kept free for the harness itself (besides one per connection).
const FD_MARGIN: usize = 256;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("plugboard-bench: {e}");
        std::process::exit(1);
    }
}

fn parse_list<T>(items: &[String], all: &[T]) -> Result<Vec<T>, HarnessError>
where
    T: std::str::FromStr + Copy,
    T::Err: std::fmt::Display,
{
    if items.iter().any(|s| s == "all") {
        return Ok(all.to_vec());
    }
    items
        .iter()
        .map(|s| {
            s.trim()
                .parse::<T>()
                .map_err(|e| HarnessError::Usage(e.to_string()))
        })
        .collect()
}

async fn run(cli: Cli) -> Result<(), HarnessError> {
    let scenarios = parse_list(&cli.scenario, &Scenario::ALL)?;
    let mut servers = parse_list(&cli.compare, &ServerKind::ALL)?;
    if cli.callgrind {
        if scenarios.iter().any(|s| !callgrind::SCENARIOS.contains(s)) {
            return Err(HarnessError::Usage(
                "--callgrind counts instructions of `ping`, `typing` and `churn` only".into(),
            ));
        }
        servers.retain(|&k| k != ServerKind::Node);
    }
    let workspace = Workspace {
        root: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("..")
            .canonicalize()?,
    };
    let out_dir = cli
        .out_dir
        .clone()
        .unwrap_or_else(|| workspace.root.join("bench").join("results"));
    std::fs::create_dir_all(&out_dir)?;

    let mut params = Params {
        duration: Duration::from_secs(cli.duration_secs),
        warmup: Duration::from_secs(cli.warmup_secs),
        typing_rate_per_agent: cli.typing_rate,
        fanout_subscribers: cli.fanout_subscribers,
        fanout_publish_rate: cli.fanout_rate,
        fanout_publishers: cli.fanout_publishers,
        churn_workers: cli.churn_workers,
        ..Params::default()
    };
    if let Some(n) = cli.connections {
        params.connections = n;
    }
    if let Some(limit) = machine::open_files_limit()
        && params.connections + FD_MARGIN > limit as usize
    {
        return Err(HarnessError::Usage(format!(
            "{} connections need more than the open-files limit of {limit} (raise `ulimit -n`)",
            params.connections
        )));
    }
    let params = params.bounded();

    let machine = Machine::detect(&workspace.root);
    let config = plugboard_config::write(&std::env::temp_dir())?;
    let mut available = Vec::new();
    let mut unavailable = Vec::new();
    for &kind in &servers {
        match workspace.prepare(kind, !cli.no_build).await {
            Ok(()) => available.push(kind),
            Err(e) => {
                eprintln!("{}: not available: {e}", kind.name());
                unavailable.push((kind, e.to_string()));
            }
        }
    }

    let mut runs = Vec::new();
    for &scenario in &scenarios {
        for round in 0..cli.rounds.max(1) {
            for &kind in &servers {
                let started = Instant::now();
                let report = if let Some((_, why)) = unavailable.iter().find(|(k, _)| *k == kind) {
                    not_run(
                        scenario,
                        Outcome::Failed(format!("server not available: {why}")),
                    )
                } else if !kind.implements(scenario) {
                    not_run(
                        scenario,
                        Outcome::Unsupported(format!(
                            "{} does not implement {scenario}",
                            kind.name()
                        )),
                    )
                } else {
                    eprintln!(
                        "running {scenario} against {} (round {round})...",
                        kind.name()
                    );
                    run_one(&workspace, kind, scenario, &params, &config, cli.callgrind).await
                };
                print_line(scenario, kind, &report);
                runs.push(Run {
                    scenario: scenario.name().into(),
                    server: kind.name().into(),
                    round,
                    wall_secs: started.elapsed().as_secs_f64(),
                    report,
                });
            }
        }
    }

    let ratios = results::ratios(&runs, &scenarios, &available);
    let results = Results {
        date: date::today(),
        machine,
        params: RunParams {
            connections: params.connections,
            duration_secs: cli.duration_secs,
            warmup_secs: cli.warmup_secs,
            rounds: cli.rounds.max(1),
            typing_rate_per_agent: params.typing_rate_per_agent,
            fanout_subscribers: params.fanout_subscribers,
            fanout_publish_rate: params.fanout_publish_rate,
            fanout_publishers: params.fanout_publishers,
            churn_workers: params.churn_workers,
        },
        runs,
        ratios,
    };
    let stem = match &cli.label {
        Some(label) => out_dir.join(format!("{}-{label}", results.date)),
        None => out_dir.join(&results.date),
    };
    std::fs::write(
        stem.with_extension("json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    let md = markdown::render(&results, &scenarios);
    std::fs::write(stem.with_extension("md"), &md)?;
    plot::draw(&results, &scenarios, &servers, &stem.with_extension("svg"))?;
    println!("\n{md}");
    println!("wrote {}.{{json,md,svg}}", stem.display());
    Ok(())
}

fn not_run(scenario: Scenario, outcome: Outcome) -> ScenarioReport {
    let (headline, higher) = scenario.headline();
    ScenarioReport::not_completed(headline, higher, outcome)
}

/// Starts the server, runs the scenario, stops the server.
async fn run_one(
    workspace: &Workspace,
    kind: ServerKind,
    scenario: Scenario,
    params: &Params,
    config: &std::path::Path,
    under_callgrind: bool,
) -> ScenarioReport {
    // Kept after the run for `callgrind_annotate`; emptied before the next one.
    let cg_dir = workspace
        .root
        .join("target")
        .join("callgrind")
        .join(kind.name());
    let callgrind_dir = under_callgrind.then_some(cg_dir.as_path());
    if let Some(dir) = callgrind_dir {
        let _ = std::fs::remove_dir_all(dir);
        if let Err(e) = std::fs::create_dir_all(dir) {
            return not_run(scenario, Outcome::Failed(format!("{}: {e}", dir.display())));
        }
    }
    let mut server = match workspace.start(kind, config, callgrind_dir).await {
        Ok(server) => server,
        Err(e) => return not_run(scenario, Outcome::Failed(e.to_string())),
    };
    let target = Target {
        addr: server.addr,
        pid: server.pid,
        api_key: API_KEY.into(),
        phase_hook: under_callgrind.then(|| callgrind::hook(server.pid)),
    };
    // Hard cap on the whole run, whatever the scenario does.
    let cap =
        params.warmup + params.duration + params.connect_phase_timeout + Duration::from_secs(120);
    let mut report =
        match tokio::time::timeout(cap, plugboard_loadgen::run(scenario, &target, params)).await {
            Ok(report) => report,
            Err(_) => not_run(
                scenario,
                Outcome::Failed(format!("run exceeded its hard cap of {} s", cap.as_secs())),
            ),
        };
    if !server.alive() {
        let why = format!(
            "server exited during the run; last output: {}",
            server.last_output()
        );
        report.outcome = Outcome::Failed(why);
    }
    let pid = server.pid;
    server.stop().await;
    if let Some(dir) = callgrind_dir
        && matches!(report.outcome, Outcome::Completed)
    {
        match callgrind::measured_instructions(dir, pid) {
            Ok(n) => callgrind::apply(
                scenario.name(),
                &mut report,
                n,
                params.duration.as_secs_f64(),
            ),
            Err(e) => report.outcome = Outcome::Failed(e.to_string()),
        }
        eprintln!("callgrind dumps of {} in {}", kind.name(), dir.display());
    }
    report
}

fn print_line(scenario: Scenario, kind: ServerKind, report: &ScenarioReport) {
    match (&report.outcome, report.headline_value()) {
        (Outcome::Completed, Some(v)) => println!(
            "{scenario:>7} {:>12}: {} = {}",
            kind.name(),
            report.headline,
            markdown::fmt_num(v)
        ),
        (Outcome::Unsupported(why), _) => {
            println!("{scenario:>7} {:>12}: unsupported ({why})", kind.name())
        }
        (Outcome::Failed(why), _) => println!("{scenario:>7} {:>12}: failed ({why})", kind.name()),
        (Outcome::Completed, None) => println!(
            "{scenario:>7} {:>12}: completed without a headline value",
            kind.name()
        ),
    }
}
