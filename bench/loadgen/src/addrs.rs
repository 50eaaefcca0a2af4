//! Source addresses in `127.0.0.0/8`, handed out round-robin so that each address needs
//! only a share of the ephemeral ports (about 28k per address).

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};

/// First host byte used as a source (`127.0.0.2`).
const FIRST: u8 = 2;
/// Last host byte used as a source (`127.0.0.250`).
const LAST: u8 = 250;

/// Round-robin pool of loopback source addresses.
#[derive(Debug, Default)]
pub struct SourceAddrs {
    next: AtomicUsize,
}

impl SourceAddrs {
    /// A pool over `127.0.0.2..=127.0.0.250`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next source address.
    pub fn next(&self) -> Ipv4Addr {
        let span = usize::from(LAST - FIRST) + 1;
        let i = self.next.fetch_add(1, Ordering::Relaxed) % span;
        Ipv4Addr::new(127, 0, 0, FIRST + i as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_over_loopback_range() {
        let pool = SourceAddrs::new();
        assert_eq!(pool.next(), Ipv4Addr::new(127, 0, 0, 2));
        for _ in 0..248 {
            pool.next();
        }
        assert_eq!(pool.next(), Ipv4Addr::new(127, 0, 0, 2));
    }
}
