//! The Lua scripts of [`RedisLiveStore`](super::RedisLiveStore): each check-and-set is
//! ONE script, `lua/common.lua` (keys, the transition table, state and queue helpers)
//! followed by the operation's own file. Scripts run by EVALSHA and are loaded again
//! after a Redis restart (`plugboard::RedisStore::invoke`).

use plugboard::redis::Script;

/// The helpers every script starts with.
pub(crate) const COMMON: &str = include_str!("lua/common.lua");

/// `COMMON` followed by `body`.
pub(crate) fn with_common(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{body}"))
}

macro_rules! scripts {
    ($($name:ident => $file:literal,)*) => {
        /// One compiled script per store operation.
        pub(crate) struct Scripts {
            $(pub(crate) $name: Script,)*
        }

        impl Scripts {
            pub(crate) fn new() -> Self {
                Self { $($name: with_common(include_str!($file)),)* }
            }
        }
    };
}

scripts! {
    state => "lua/state.lua",
    transition => "lua/transition.lua",
    pair => "lua/pair.lua",
    touch => "lua/touch.lua",
    stale => "lua/stale.lua",
    forget => "lua/forget.lua",
    epoch => "lua/epoch.lua",
    join => "lua/join.lua",
    leave => "lua/leave.lua",
    suspend => "lua/suspend.lua",
    resume => "lua/resume.lua",
    expire => "lua/expire.lua",
    try_match => "lua/try_match.lua",
    request_call => "lua/request_call.lua",
    accept_call => "lua/accept_call.lua",
    end_match => "lua/end.lua",
    release => "lua/release.lua",
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Status, allowed};

    /// ARGV: prefix, then (from, held by, to, holder) quadruples; '' is no holder.
    const PROBE: &str = r#"
local out = {}
for i = 2, #ARGV, 4 do
  out[#out + 1] = allowed(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]) and 1 or 0
end
return out
"#;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_lua_transition_table_is_allowed_for_every_combination() {
        plugboard_testkit::run_on("redis", async {
            let backend = plugboard_testkit::backend().await;
            let redis = backend.redis().expect("a redis run");
            let holders = [None, Some("m1"), Some("m2")];
            let mut cases = Vec::new();
            for from in Status::ALL {
                for held_by in holders {
                    for to in Status::ALL {
                        for holder in holders {
                            cases.push((from, held_by, to, holder));
                        }
                    }
                }
            }
            let script = with_common(PROBE);
            let mut inv = script.prepare_invoke();
            inv.arg(redis.prefix());
            for (from, held_by, to, holder) in &cases {
                inv.arg(from.as_str())
                    .arg(held_by.unwrap_or(""))
                    .arg(to.as_str())
                    .arg(holder.unwrap_or(""));
            }
            let lua: Vec<i64> = redis.invoke(&inv).await.unwrap();
            assert_eq!(lua.len(), cases.len());
            for ((from, held_by, to, holder), got) in cases.iter().zip(lua) {
                assert_eq!(
                    got == 1,
                    allowed(*from, *held_by, *to, *holder),
                    "{from:?}({held_by:?}) -> {to:?}({holder:?})"
                );
            }
        })
        .await;
    }
}
