//! A `redis-server` of a test's own, on a free port, that the test can freeze and thaw
//! (SIGSTOP / SIGCONT by its process id) to make Redis unreachable without losing data.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A redis-server child process; stopped (by its id) when dropped.
pub struct OwnRedis {
    child: Child,
    port: u16,
}

impl OwnRedis {
    /// Starts one, or `None` when `redis-server` is not installed (a failure under CI=true).
    pub fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) => {
                assert!(
                    !std::env::var("CI").is_ok_and(|v| v == "true"),
                    "CI=true and redis-server cannot start: {e}"
                );
                eprintln!("redis-server not available ({e}); test skipped");
                return None;
            }
        };
        let own = Self { child, port };
        let addr = format!("127.0.0.1:{port}");
        for _ in 0..100 {
            if plugboard_testkit::answers_ping(&addr) {
                return Some(own);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server on {addr} never answered");
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Freezes the server: connections stay open, nothing is answered.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Lets a frozen server answer again, with its data intact.
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(sig)
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {sig} failed");
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.thaw();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
