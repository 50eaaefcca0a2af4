//! Configuration: a TOML file (`plugboard.toml`) with every key overridable from the
//! environment as `PLUGBOARD_<SECTION>__<KEY>` (double underscore between levels), e.g.
//! `PLUGBOARD_PORT=4000`, `PLUGBOARD_AUTH__MODE=jwt`,
//! `PLUGBOARD_HANDLERS__HEALTH_PING__INTERVAL_MS=5000`.

use std::collections::HashMap;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::HostError;

mod cluster;
pub use cluster::ClusterConfig;

/// The whole server configuration. Every field has a default, so an empty file is valid.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to bind (default `127.0.0.1`).
    pub bind: String,
    /// Port to listen on (default 3000; 0 picks a free port).
    pub port: u16,
    /// Origins allowed by CORS (for long-polling from browsers). Empty: no CORS headers.
    /// `["*"]` allows any origin.
    pub cors_origins: Vec<String>,
    /// State backend: `memory` (default) or `redis` (cluster mode).
    pub store: StoreKind,
    /// Redis URL used when `store = "redis"` (env `PLUGBOARD_REDIS_URL`).
    pub redis_url: String,
    /// Cluster membership (used when `store = "redis"`).
    pub cluster: ClusterConfig,
    /// How long shutdown waits for handlers and tasks before giving up, in ms.
    pub shutdown_timeout_ms: u64,
    /// Engine.IO / Socket.IO transport settings.
    pub engine: EngineConfig,
    /// How sockets prove who they are.
    pub auth: AuthConfig,
    /// How many sockets one user may hold.
    pub sessions: SessionConfig,
    /// `messageId` replay window.
    pub idempotency: IdempotencyConfig,
    /// Per-socket event rate limit.
    pub limits: LimitsConfig,
    /// HTTP API settings.
    pub http: HttpConfig,
    /// Event renames: default event name -> name the frontend uses (both directions).
    pub event_names: HashMap<String, String>,
    /// Per-handler sections, keyed by handler name with `-` written as `_`
    /// (`[handlers.health_ping]`). Each may carry `enabled = false`.
    pub handlers: HashMap<String, Value>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1".into(),
            port: 3000,
            cors_origins: Vec::new(),
            store: StoreKind::Memory,
            redis_url: "redis://127.0.0.1:6379".into(),
            cluster: ClusterConfig::default(),
            shutdown_timeout_ms: 10_000,
            engine: EngineConfig::default(),
            auth: AuthConfig::default(),
            sessions: SessionConfig::default(),
            idempotency: IdempotencyConfig::default(),
            limits: LimitsConfig::default(),
            http: HttpConfig::default(),
            event_names: HashMap::new(),
            handlers: HashMap::new(),
        }
    }
}

/// Which store backs handler state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// In-process memory: one node, nothing to install.
    Memory,
    /// Redis: many nodes (see docs/scaling.md).
    Redis,
}

/// Transport limits and timers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Engine.IO ping interval in ms (socket.io default 25 000).
    pub ping_interval_ms: u64,
    /// Engine.IO ping timeout in ms (socket.io default 20 000).
    pub ping_timeout_ms: u64,
    /// Time a client has to send the Socket.IO CONNECT packet, in ms.
    pub connect_timeout_ms: u64,
    /// Largest accepted message (websocket message and polling payload), in bytes.
    pub max_payload_bytes: u64,
    /// Packets buffered per socket before the client counts as too slow.
    pub max_buffer_size: usize,
    /// What happens to a socket whose send buffer is full.
    pub slow_client: SlowClientPolicy,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            ping_interval_ms: 25_000,
            ping_timeout_ms: 20_000,
            connect_timeout_ms: 10_000,
            max_payload_bytes: 1024 * 1024,
            max_buffer_size: 1024,
            slow_client: SlowClientPolicy::Disconnect,
        }
    }
}

/// What plugboard does when a socket's send buffer is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlowClientPolicy {
    /// Disconnect the socket (its client reconnects and resyncs). Default.
    Disconnect,
    /// Drop the message for that socket and keep it connected.
    Drop,
}

/// Authentication mode and secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `dev` (trust `auth.userId`) or `jwt` (verify `auth.token`).
    pub mode: AuthMode,
    /// HS256 secret for `jwt` mode.
    pub jwt_secret: String,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::Dev,
            jwt_secret: String::new(),
        }
    }
}

/// How identities are established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// Trust `auth.userId`, `auth.userName`, `auth.roles` as given. Never in production.
    Dev,
    /// Verify `auth.token` as an HS256 JWT with claims `sub`, `name`, `roles`.
    Jwt,
}

/// Session policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// `allow_multiple` (tabs allowed, default) or `kick_old`.
    pub policy: SessionPolicy,
    /// Roles exempt from `kick_old` (they may keep several tabs).
    pub multi_tab_roles: Vec<String>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            policy: SessionPolicy::AllowMultiple,
            multi_tab_roles: vec!["agent".into()],
        }
    }
}

/// What happens when a user connects while already connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionPolicy {
    /// Keep every socket (several tabs).
    AllowMultiple,
    /// Tell the older sockets `duplicate-connection` and disconnect them.
    KickOld,
}

/// `messageId` replay settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdempotencyConfig {
    /// How long an answer is remembered, in ms (default 5 min).
    pub window_ms: u64,
    /// Most remembered answers per user; the oldest go first.
    pub max_per_user: usize,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        Self {
            window_ms: 300_000,
            max_per_user: 1_000,
        }
    }
}

/// Per-socket event rate limit (token bucket).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Sustained events per second per socket; 0 disables the limit.
    pub events_per_second: u32,
    /// Burst size.
    pub event_burst: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            events_per_second: 100,
            event_burst: 200,
        }
    }
}

/// HTTP API settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Bearer key for handler publish APIs. Empty: those routes answer 404.
    pub api_key: String,
    /// Largest accepted HTTP request body, in bytes.
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            api_key: String::new(),
            max_body_bytes: 256 * 1024,
        }
    }
}

const TOP_LEVEL_KEYS: [&str; 15] = [
    "bind",
    "port",
    "cors_origins",
    "store",
    "redis_url",
    "cluster",
    "shutdown_timeout_ms",
    "engine",
    "auth",
    "sessions",
    "idempotency",
    "limits",
    "http",
    "event_names",
    "handlers",
];

impl Config {
    /// Loads defaults, then the TOML file if given, then `PLUGBOARD_*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Self, HostError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(HostError::Config(format!(
                    "config file {} not found",
                    path.display()
                )));
            }
            fig = fig.merge(Toml::file(path));
        }
        // Only keys naming a config field are read, so unrelated `PLUGBOARD_*` variables
        // (test settings, binary paths) do not trip `deny_unknown_fields`.
        let env = Env::prefixed("PLUGBOARD_").split("__").filter(|key| {
            let top = key.as_str().split('.').next().unwrap_or_default();
            TOP_LEVEL_KEYS.iter().any(|k| k.eq_ignore_ascii_case(top))
        });
        Self::extract(fig.merge(env))
    }

    /// Parses a TOML string (no environment), for tests and embedding.
    pub fn from_toml(text: &str) -> Result<Self, HostError> {
        Self::extract(
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(text)),
        )
    }

    fn extract(fig: Figment) -> Result<Self, HostError> {
        fig.extract().map_err(|e| HostError::Config(e.to_string()))
    }

    /// The config key of a handler section: its name with `-` as `_`.
    pub fn handler_key(name: &str) -> String {
        name.replace('-', "_")
    }

    /// The raw section of a handler (`Value::Null` when absent).
    pub fn handler_section(&self, name: &str) -> Value {
        self.handlers
            .get(&Self::handler_key(name))
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// False when the handler's section says `enabled = false`.
    pub fn handler_enabled(&self, name: &str) -> bool {
        self.handler_section(name)
            .get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_safe_defaults() {
        let c = Config::from_toml("").unwrap();
        assert_eq!((c.bind.as_str(), c.port), ("127.0.0.1", 3000));
        assert_eq!(c.auth.mode, AuthMode::Dev);
        assert_eq!(c.engine.max_payload_bytes, 1024 * 1024);
        assert_eq!(c.store, StoreKind::Memory);
    }

    #[test]
    fn handler_sections_use_underscored_names_and_may_be_disabled() {
        let c =
            Config::from_toml("[handlers.health_ping]\nenabled = false\ninterval_ms = 5").unwrap();
        assert!(!c.handler_enabled("health-ping"));
        assert_eq!(c.handler_section("health-ping")["interval_ms"], 5);
        assert!(c.handler_enabled("timeline"));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail closure returns figment::Error
    fn environment_overrides_the_file_and_ignores_unrelated_variables() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("plugboard.toml", "port = 4000\n[auth]\nmode = \"dev\"")?;
            jail.set_env("PLUGBOARD_AUTH__MODE", "jwt");
            jail.set_env("PLUGBOARD_AUTH__JWT_SECRET", "s");
            jail.set_env("PLUGBOARD_HANDLERS__HEALTH_PING__INTERVAL_MS", "5");
            jail.set_env("PLUGBOARD_TEST_REDIS_URL", "redis://elsewhere");
            jail.set_env("PLUGBOARD_STORE", "redis");
            jail.set_env("PLUGBOARD_REDIS_URL", "redis://10.0.0.5:6380");
            jail.set_env("PLUGBOARD_CLUSTER__NAME", "eu-1");
            let c = Config::load(Some(Path::new("plugboard.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.port, 4000);
            assert_eq!(c.auth.mode, AuthMode::Jwt);
            assert_eq!(c.auth.jwt_secret, "s");
            assert_eq!(c.handler_section("health-ping")["interval_ms"], 5);
            assert_eq!(c.store, StoreKind::Redis);
            assert_eq!(c.redis_url, "redis://10.0.0.5:6380");
            assert_eq!(c.cluster.name, "eu-1");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let err = Config::from_toml("prot = 1").unwrap_err().to_string();
        assert!(err.contains("prot"), "{err}");
    }
}
