//! Server memory use, read from `/proc/<pid>/status`.

use crate::LoadError;

/// Resident set size (`VmRSS`) of a process, in KiB.
pub fn vm_rss_kib(pid: u32) -> Result<u64, LoadError> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|source| LoadError::Proc { pid, source })?;
    parse_vm_rss(&text).ok_or_else(|| LoadError::Protocol(format!("no VmRSS line for pid {pid}")))
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_rss() {
        let status = "Name:\tx\nVmPeak:\t  100 kB\nVmRSS:\t   12345 kB\nThreads: 3\n";
        assert_eq!(parse_vm_rss(status), Some(12345));
    }
}
