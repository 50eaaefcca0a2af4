//! [`RedisServer`]: a `redis-server` of a test's own, to kill and restart (outage tests).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::stores::answers_ping;

/// A `redis-server` on a free loopback port, owned by one test. It is killed when dropped,
/// and a watchdog shell stops it if the test process dies first.
#[derive(Debug)]
pub struct RedisServer {
    /// Its port.
    pub port: u16,
    dir: std::path::PathBuf,
    aof: bool,
    pid: Option<u32>,
}

impl RedisServer {
    /// Starts one; `aof` makes every write durable (append-only file, fsync always), so a
    /// restart keeps every committed write. `None` when `redis-server` is not installed.
    pub fn start(aof: bool) -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let dir =
            std::env::temp_dir().join(format!("plugboard-redis-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let mut server = Self {
            port,
            dir,
            aof,
            pid: None,
        };
        server.launch().then_some(server)
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn launch(&mut self) -> bool {
        let persistence = if self.aof {
            "--appendonly yes --appendfsync always"
        } else {
            "--appendonly no"
        };
        let script = format!(
            "redis-server --port {port} --bind 127.0.0.1 --dir '{dir}' --save '' {persistence} --daemonize no >/dev/null 2>&1 & r=$!; echo $r; \
             while kill -0 {pid} 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 1; done; kill -9 $r 2>/dev/null",
            port = self.port,
            dir = self.dir.display(),
            pid = std::process::id()
        );
        let Ok(mut child) = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        else {
            return false;
        };
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        self.pid = line.trim().parse().ok();
        let addr = format!("127.0.0.1:{}", self.port);
        for _ in 0..100 {
            if answers_ping(&addr) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Kills it with SIGKILL, like a crash.
    pub fn kill(&mut self) {
        self.thaw();
        if let Some(pid) = self.pid.take() {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            let addr = format!("127.0.0.1:{}", self.port);
            for _ in 0..100 {
                if !answers_ping(&addr) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Freezes it (SIGSTOP): connections stay open and nothing is answered, like a hung
    /// server. [`thaw`](Self::thaw) lets it answer again with its data intact.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Lets a frozen server answer again.
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        if let Some(pid) = self.pid {
            let _ = Command::new("kill").arg(sig).arg(pid.to_string()).status();
        }
    }

    /// Starts it again on the same port and directory. Panics if it does not come up.
    pub fn restart(&mut self) {
        self.kill();
        assert!(
            self.launch(),
            "redis-server did not restart on {}",
            self.port
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
