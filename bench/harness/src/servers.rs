//! The servers under test: which they are, how to build them, start them on a free
//! loopback port and stop them.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plugboard_loadgen::Scenario;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use crate::error::HarnessError;

/// Bearer key given to every server's publish API.
pub const API_KEY: &str = "benchkey";
/// Longest a server may take to print its ready line.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a build step (`cargo build`, `npm ci`) may take.
const BUILD_TIMEOUT: Duration = Duration::from_secs(1_800);

/// One server implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerKind {
    /// plugboard's standalone binary (`plugboard-standalone`).
    Plugboard,
    /// Node socket.io 4.8 (`bench/baseline-node`).
    Node,
    /// Bare socketioxide + axum (`plugboard-baseline-socketioxide`).
    Socketioxide,
    /// Raw WebSocket ceiling (`plugboard-ceiling-ws`), `ping`/`hold`/`churn` only.
    Ceiling,
}

impl ServerKind {
    /// All servers, in run order.
    pub const ALL: [ServerKind; 4] = [
        ServerKind::Plugboard,
        ServerKind::Socketioxide,
        ServerKind::Node,
        ServerKind::Ceiling,
    ];

    /// Command-line and report name.
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Plugboard => "plugboard",
            ServerKind::Node => "node",
            ServerKind::Socketioxide => "socketioxide",
            ServerKind::Ceiling => "ceiling",
        }
    }

    /// Whether this server implements the scenario's events at all (known statically).
    pub fn implements(self, scenario: Scenario) -> bool {
        match self {
            ServerKind::Ceiling => {
                matches!(scenario, Scenario::Ping | Scenario::Hold | Scenario::Churn)
            }
            // The baselines implement what the seeds' JS classes do; the live queue is
            // plugboard's own.
            ServerKind::Node | ServerKind::Socketioxide => scenario != Scenario::Queue,
            _ => true,
        }
    }

    /// Cargo package and binary name of the Rust servers.
    fn cargo_target(self) -> Option<(&'static str, &'static str)> {
        match self {
            ServerKind::Plugboard => Some(("plugboard-standalone", "plugboard")),
            ServerKind::Socketioxide => Some((
                "plugboard-baseline-socketioxide",
                "plugboard-baseline-socketioxide",
            )),
            ServerKind::Ceiling => Some(("plugboard-ceiling-ws", "plugboard-ceiling-ws")),
            ServerKind::Node => None,
        }
    }
}

/// An unknown server name.
#[derive(Debug, thiserror::Error)]
#[error("unknown server `{0}` (known: plugboard, node, socketioxide, ceiling)")]
pub struct UnknownServer(pub String);

impl FromStr for ServerKind {
    type Err = UnknownServer;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServerKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownServer(s.to_owned()))
    }
}

/// Paths the harness works with.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The Cargo workspace root.
    pub root: PathBuf,
}

impl Workspace {
    fn release_bin(&self, bin: &str) -> PathBuf {
        self.root.join("target").join("release").join(bin)
    }

    fn node_dir(&self) -> PathBuf {
        self.root.join("bench").join("baseline-node")
    }

    /// Makes sure the server can start: builds a Rust binary with `cargo build --release`
    /// (always when `build`, else only when missing), or runs `npm ci` for a missing
    /// `node_modules`.
    pub async fn prepare(&self, kind: ServerKind, build: bool) -> Result<(), HarnessError> {
        if let Some((package, bin)) = kind.cargo_target() {
            if build || !self.release_bin(bin).exists() {
                eprintln!("building {package} (release)...");
                let mut cmd = Command::new("cargo");
                cmd.args(["build", "--release", "-p", package])
                    .current_dir(&self.root);
                run_step(cmd, &format!("cargo build --release -p {package}")).await?;
            }
            return Ok(());
        }
        if !self.node_dir().join("node_modules").exists() {
            eprintln!("installing the Node baseline's packages (npm ci)...");
            let mut cmd = Command::new("npm");
            cmd.args(["ci", "--no-audit", "--no-fund"])
                .current_dir(self.node_dir());
            run_step(cmd, "npm ci").await?;
        }
        Ok(())
    }

    /// Starts the server on a free loopback port and waits for its ready line.
    pub async fn start(
        &self,
        kind: ServerKind,
        plugboard_config: &Path,
        callgrind_dir: Option<&Path>,
    ) -> Result<RunningServer, HarnessError> {
        let port = free_port()?;
        let port_s = port.to_string();
        let mut cmd = match kind {
            ServerKind::Plugboard => {
                let mut c = Command::new(self.release_bin("plugboard"));
                c.arg("--config").arg(plugboard_config).args([
                    "--port",
                    &port_s,
                    "--bind",
                    "127.0.0.1",
                ]);
                c
            }
            ServerKind::Node => {
                let mut c = Command::new("node");
                c.arg("server.js")
                    .args(["--port", &port_s, "--api-key", API_KEY])
                    .current_dir(self.node_dir());
                c.env("NODE_ENV", "production");
                c
            }
            ServerKind::Socketioxide => {
                let mut c = Command::new(self.release_bin("plugboard-baseline-socketioxide"));
                c.args(["--port", &port_s, "--api-key", API_KEY]);
                c
            }
            ServerKind::Ceiling => {
                let mut c = Command::new(self.release_bin("plugboard-ceiling-ws"));
                c.args(["--port", &port_s]);
                c
            }
        };
        if let Some(dir) = callgrind_dir {
            cmd = crate::callgrind::wrap(&cmd, dir);
        }
        cmd.env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| HarnessError::Start(format!("{}: {e}", kind.name())))?;
        let pid = child
            .id()
            .ok_or_else(|| HarnessError::Start("exited at once".into()))?;
        let log = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(keep_tail(stderr, Arc::clone(&log)));
        }
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| HarnessError::Start("no stdout".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = ready_addr(&line) {
                    return Some(addr);
                }
                push_tail(&log, line);
            }
            None
        })
        .await;
        let addr = match ready {
            Ok(Some(addr)) => addr,
            other => {
                let _ = child.kill().await;
                let why = if other.is_err() {
                    "no ready line within 30 s"
                } else {
                    "exited before its ready line"
                };
                return Err(HarnessError::Start(format!(
                    "{}: {why}; last output: {}",
                    kind.name(),
                    tail_text(&log)
                )));
            }
        };
        // Keep draining stdout so a chatty server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(RunningServer {
            child,
            addr,
            pid,
            log,
        })
    }
}

/// A started server.
#[derive(Debug)]
pub struct RunningServer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its process id.
    pub pid: u32,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl RunningServer {
    /// Whether the process is still alive.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The last lines it wrote to stderr.
    pub fn last_output(&self) -> String {
        tail_text(&self.log)
    }

    /// SIGTERM, then SIGKILL after 5 s.
    pub async fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

async fn run_step(mut cmd: Command, what: &str) -> Result<(), HarnessError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let status = tokio::time::timeout(BUILD_TIMEOUT, cmd.status())
        .await
        .map_err(|_| HarnessError::Build(format!("{what}: timed out")))?
        .map_err(|e| HarnessError::Build(format!("{what}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(HarnessError::Build(format!("{what}: {status}")))
    }
}

fn free_port() -> Result<u16, HarnessError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Parses `... listening ... addr=127.0.0.1:PORT ...` (ANSI colour codes ignored).
fn ready_addr(line: &str) -> Option<SocketAddr> {
    let plain = strip_ansi(line);
    if !plain.contains("listening") {
        return None;
    }
    let start = plain.find("addr=")? + "addr=".len();
    let token: String = plain[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '[' | ']'))
        .collect();
    token.parse().ok()
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip `ESC [ ... letter`.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

async fn keep_tail(stream: impl AsyncRead + Unpin, log: Arc<Mutex<VecDeque<String>>>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        push_tail(&log, line);
    }
}

fn push_tail(log: &Mutex<VecDeque<String>>, line: String) {
    if let Ok(mut log) = log.lock() {
        if log.len() >= 20 {
            log.pop_front();
        }
        log.push_back(line);
    }
}

fn tail_text(log: &Mutex<VecDeque<String>>) -> String {
    log.lock()
        .map(|l| l.iter().cloned().collect::<Vec<_>>().join(" | "))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ready_lines() {
        let want: SocketAddr = "127.0.0.1:4100".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(ready_addr("listening addr=127.0.0.1:4100"), Some(want));
        assert_eq!(
            ready_addr(
                "2026-01-01T00:00:00Z  INFO plugboard: listening addr=127.0.0.1:4100 handlers=3"
            ),
            Some(want)
        );
        assert_eq!(
            ready_addr(
                "\u{1b}[32m INFO\u{1b}[0m listening \u{1b}[3maddr\u{1b}[0m\u{1b}[2m=\u{1b}[0m127.0.0.1:4100"
            ),
            Some(want)
        );
        assert_eq!(ready_addr("starting addr=127.0.0.1:4100"), None);
    }
}
