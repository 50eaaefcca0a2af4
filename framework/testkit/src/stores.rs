//! One test suite, two backends: [`on_both_stores!`](crate::on_both_stores) runs each test
//! once on the memory store and once on Redis.
//!
//! The Redis used is, in order: `PLUGBOARD_TEST_REDIS_URL`; the server on
//! `127.0.0.1:6379` if it answers; otherwise a `redis-server` this process starts on a
//! free port (stopped when the test process exits). Without any, the Redis half of each
//! test is skipped with a note, except under `CI=true`, where it fails.
//!
//! Each Redis run gets a cluster name of its own (`test-<random>`), so tests run in
//! parallel on one Redis without meeting, and its keys are deleted when it ends.

use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use futures_util::FutureExt;
use plugboard::{Backend, Config, RedisStore, SocketId};

/// Which store a test runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// The in-process memory store.
    Memory,
    /// Redis, with this run's cluster name.
    Redis {
        /// The Redis URL.
        url: String,
        /// The cluster name (key prefix) of this run.
        cluster: String,
    },
}

tokio::task_local! {
    static STORE: Store;
}

/// The store of the running test (memory outside [`run_on`]).
pub fn current() -> Store {
    STORE.try_with(Clone::clone).unwrap_or(Store::Memory)
}

/// `Config::from_toml(toml)` set to the running test's store: on Redis, `store`,
/// `redis_url` and `[cluster] name` are added (a `[cluster]` section in `toml` keeps its
/// other keys; short heartbeats make node-failure tests quick).
pub fn config(toml: &str) -> Config {
    let mut c = Config::from_toml(toml).expect("test config parses");
    if let Store::Redis { url, cluster } = current() {
        c.store = plugboard::config::StoreKind::Redis;
        c.redis_url = url;
        c.cluster.name = cluster;
    }
    c
}

/// The running test's [`Backend`], for store tests that build a store directly.
pub async fn backend() -> Backend {
    match current() {
        Store::Memory => Backend::Memory,
        Store::Redis { url, cluster } => Backend::Redis(
            RedisStore::open(&url, &cluster, Duration::from_secs(2))
                .await
                .expect("test redis reachable"),
        ),
    }
}

/// Runs `test` on `store` (`"memory"` or `"redis"`); used by [`on_both_stores!`](crate::on_both_stores).
pub async fn run_on<F: Future<Output = ()>>(store: &str, test: F) {
    let store = match store {
        "memory" => Store::Memory,
        _ => match redis_url() {
            Some(url) => Store::Redis {
                url: url.clone(),
                cluster: format!("test-{}", SocketId::new()),
            },
            None => {
                eprintln!(
                    "no Redis for this test: its redis half is skipped (set PLUGBOARD_TEST_REDIS_URL or install redis-server)"
                );
                return;
            }
        },
    };
    let result = STORE
        .scope(
            store.clone(),
            std::panic::AssertUnwindSafe(test).catch_unwind(),
        )
        .await;
    if let Store::Redis { url, cluster } = &store {
        forget_cluster(url, cluster).await;
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// Deletes every key of a test cluster.
async fn forget_cluster(url: &str, cluster: &str) {
    let Ok(store) = RedisStore::open(url, cluster, Duration::from_secs(2)).await else {
        return;
    };
    let pattern = format!("{}*", store.prefix());
    let mut cursor: u64 = 0;
    loop {
        let Ok((next, keys)): Result<(u64, Vec<String>), _> = store
            .query(
                plugboard::redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(500),
            )
            .await
        else {
            return;
        };
        if !keys.is_empty() {
            let _ = store
                .query::<i64>(plugboard::redis::cmd("DEL").arg(&keys))
                .await;
        }
        if next == 0 {
            return;
        }
        cursor = next;
    }
}

/// The Redis for tests, found or started once per process.
pub fn redis_url() -> Option<String> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        let found = find_or_start();
        if found.is_none() && std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true and no Redis: set PLUGBOARD_TEST_REDIS_URL, run one on 127.0.0.1:6379 or install redis-server");
        }
        found
    })
    .clone()
}

fn find_or_start() -> Option<String> {
    if let Ok(url) = std::env::var("PLUGBOARD_TEST_REDIS_URL")
        && !url.is_empty()
    {
        return Some(url);
    }
    if answers_ping("127.0.0.1:6379") {
        return Some("redis://127.0.0.1:6379".into());
    }
    start_redis_server()
}

/// True when a Redis answers PING at `addr`.
pub fn answers_ping(addr: &str) -> bool {
    let Ok(addr) = addr.parse() else { return false };
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(300)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with("+PONG")
}

/// Starts `redis-server` on a free port, watched by a shell that stops it when this test
/// process exits.
fn start_redis_server() -> Option<String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let script = format!(
        "redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null 2>&1 & r=$!; \
         while kill -0 {pid} 2>/dev/null; do sleep 1; done; kill $r",
        pid = std::process::id()
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let addr = format!("127.0.0.1:{port}");
    for _ in 0..50 {
        if answers_ping(&addr) {
            return Some(format!("redis://{addr}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Writes each test of the block twice, in modules `memory` and `redis`: the same body
/// on the memory store and on Redis. Inside, build configs with
/// [`config`](crate::config) and stores with [`backend`](crate::backend).
///
/// ```ignore
/// plugboard_testkit::on_both_stores! {
///     async fn second_agent_viewing_gets_collision_warning() { /* ... */ }
/// }
/// ```
#[macro_export]
macro_rules! on_both_stores {
    ($( $(#[$meta:meta])* async fn $name:ident() $body:block )*) => {
        mod memory {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::run_on("memory", async move $body).await
                }
            )*
        }
        mod redis {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::run_on("redis", async move $body).await
                }
            )*
        }
    };
}
