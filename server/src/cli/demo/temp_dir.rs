//! The demo's scratch directory: it holds the SQLite database, and nothing
//! of a run is left behind on disk.

use std::path::{Path, PathBuf};

/// A directory under the system's temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `motp-demo-<pid>-<random>`; the random part keeps two demos
    /// started at once (or a stale directory) from sharing a database.
    pub fn create() -> std::io::Result<Self> {
        let random = crate::codes::random_bytes::<8>();
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let path = std::env::temp_dir().join(format!("motp-demo-{}-{suffix}", std::process::id()));
        std::fs::create_dir(&path)?;
        Ok(Self(path))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
