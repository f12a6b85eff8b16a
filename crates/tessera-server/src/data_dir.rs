//! The data folder: the SQLite database, its serve lock, and the master key file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tessera_crypto::MasterKey;

use crate::StartupError;

/// The master key file inside the data folder.
const MASTER_KEY_FILE: &str = "master.key";

/// Creates the folder if needed and proves it is writable.
pub(crate) fn prepare(dir: &Path) -> Result<(), StartupError> {
    let failed = |source: std::io::Error| StartupError::DataDir {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    File::create(&probe).map_err(failed)?;
    std::fs::remove_file(&probe).map_err(failed)?;
    Ok(())
}

/// Holds an exclusive lock next to a SQLite database for the life of a `tessera serve`: a
/// second server on the same file is refused instead of racing the first. Admin commands
/// do not take it; SQLite's own locking keeps their writes safe.
pub(crate) fn lock_for_serving(database: &Path) -> Result<File, StartupError> {
    let path = PathBuf::from(format!("{}.lock", database.display()));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StartupError::DataDir {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StartupError::AlreadyServing {
            database: database.to_owned(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(StartupError::DataDir { path, source }),
    }
}

/// The configured master key, or the one in the data folder's key file, created (mode 0600)
/// on first start.
pub(crate) fn master_key(
    dir: &Path,
    configured: Option<&MasterKey>,
) -> Result<MasterKey, StartupError> {
    if let Some(key) = configured {
        return Ok(key.clone());
    }
    let path = dir.join(MASTER_KEY_FILE);
    let io_failed = |source: std::io::Error| StartupError::DataDir {
        path: path.clone(),
        source,
    };
    if !path.exists() {
        create_key_file(&path).map_err(io_failed)?;
    }
    let metadata = std::fs::metadata(&path).map_err(io_failed)?;
    if metadata.permissions().mode() & 0o077 != 0 {
        tracing::warn!(path = %path.display(), "the master key file is readable by other users; chmod 600 it");
    }
    let text = std::fs::read_to_string(&path).map_err(io_failed)?;
    MasterKey::from_encoded(&text).map_err(|e| StartupError::MasterKeyFile {
        path: path.clone(),
        reason: e.to_string(),
    })
}

/// Writes a new key to a private temporary file, then links it into place: two processes
/// starting at once cannot both create a key, and no one reads a half-written file.
fn create_key_file(path: &Path) -> std::io::Result<()> {
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(format!("{}\n", MasterKey::generate().encode()).as_bytes())?;
    file.sync_all()?;
    drop(file);
    let linked = std::fs::hard_link(&temporary, path);
    std::fs::remove_file(&temporary)?;
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = master_key(dir.path(), None).unwrap();
        let mode = std::fs::metadata(dir.path().join(MASTER_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = master_key(dir.path(), None).unwrap();
        assert_eq!(first.encode(), second.encode());
        let configured = MasterKey::generate();
        assert_eq!(
            master_key(dir.path(), Some(&configured)).unwrap().encode(),
            configured.encode()
        );
    }

    #[test]
    fn a_second_lock_on_the_same_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("tessera.db");
        let held = lock_for_serving(&db).unwrap();
        assert!(matches!(
            lock_for_serving(&db),
            Err(StartupError::AlreadyServing { .. })
        ));
        drop(held);
        lock_for_serving(&db).unwrap();
    }

    #[test]
    fn a_corrupt_key_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MASTER_KEY_FILE), "not a key").unwrap();
        assert!(matches!(
            master_key(dir.path(), None),
            Err(StartupError::MasterKeyFile { .. })
        ));
    }
}
