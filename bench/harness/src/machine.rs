//! What machine the numbers come from.

use serde::Serialize;

/// Hardware and tooling facts recorded with every result file.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// Cores available to this process.
    pub cores: usize,
    /// `MemTotal` in GiB.
    pub mem_gib: f64,
    /// Soft limit on open files (bounds connections per process).
    pub open_files_limit: Option<u64>,
    /// Whether `perf stat -e instructions` works here (hardware counters).
    pub perf_instructions: bool,
    /// `git describe --always --dirty` of the workspace, when available.
    pub git: Option<String>,
}

impl Machine {
    /// Reads the facts from `/proc` and a couple of commands.
    pub fn detect(workspace: &std::path::Path) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        Self {
            cpu_model,
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            mem_gib: (mem_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            open_files_limit: open_files_limit(),
            perf_instructions: perf_works(),
            git: git_describe(workspace),
        }
    }
}

/// The soft `Max open files` limit of this process.
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn perf_works() -> bool {
    std::process::Command::new("perf")
        .args(["stat", "-x,", "-e", "instructions", "true"])
        .output()
        .map(|o| {
            o.status.success() && !String::from_utf8_lossy(&o.stderr).contains("not supported")
        })
        .unwrap_or(false)
}

fn git_describe(workspace: &std::path::Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(workspace)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
