//! The plugboard configuration used for benchmarks: dev auth, a publish API key, and rate
//! limits high enough that they never shape the numbers.

use std::path::{Path, PathBuf};

use crate::error::HarnessError;
use crate::servers::API_KEY;

/// Writes the bench config into `dir` and returns its path.
pub fn write(dir: &Path) -> Result<PathBuf, HarnessError> {
    let path = dir.join("plugboard-bench.toml");
    let text = format!(
        "# Written by plugboard-bench for each run.\n\
         [auth]\nmode = \"dev\"\n\n\
         [http]\napi_key = \"{API_KEY}\"\n\n\
         [limits]\nevents_per_second = 1000000\nevent_burst = 1000000\n\n\
         [engine]\nmax_buffer_size = 4096\n"
    );
    std::fs::write(&path, text)?;
    Ok(path)
}
