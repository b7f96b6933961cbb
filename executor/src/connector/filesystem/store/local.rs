//! The local-directory store (`file://`). Objects are files under the root; a conditional
//! create writes a temporary file, syncs it and hard-links it into place (which fails if the
//! name exists), so a file is either absent or complete. Staged uploads keep their parts under
//! `<root>/_sluice/uploads/<id>/` until completed.
//!
//! Published data files whose bytes are already durable in a commit record are created without
//! a sync each ([`LocalStore::put_if_absent_unsynced`]); the commit then syncs the whole
//! filesystem once ([`LocalStore::sync`]) before the split's next record can be written. Two
//! syncs per file were most of the CPU with many small files on ext4 (README, Performance).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use rand::Rng as _;

use super::outcome::{Created, Part, StoreError};

/// A directory.
#[derive(Clone, Debug)]
pub struct LocalStore {
    root: PathBuf,
}

fn permanent(operation: &'static str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Permanent {
        operation,
        location: path.display().to_string(),
        message: e.to_string(),
    }
}

fn random_id() -> String {
    format!("{:016x}", rand::rng().random::<u64>())
}

/// The folder of `target` (created) and a fresh hidden temporary path in it, from which a
/// complete file is linked or renamed into place.
fn temp_beside(target: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let dir = target.parent().unwrap_or(Path::new("/")).to_owned();
    std::fs::create_dir_all(&dir)?;
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("object");
    let tmp = dir.join(format!(".{name}.{}.tmp", random_id()));
    Ok((dir, tmp))
}

/// Writes `data` to a new temporary file next to `target`, synced, and links it to `target`.
fn create_file(target: &Path, data: &[u8]) -> std::io::Result<Created> {
    create_file_with(target, data, true)
}

/// [`create_file`], syncing the file and its directory only if `sync`. What a power loss
/// leaves of an unsynced file (empty, short or wrong bytes) is found by the checksum in its
/// commit record and written again ([`LocalStore::rewrite`]) when the split is next claimed.
fn create_file_with(target: &Path, data: &[u8], sync: bool) -> std::io::Result<Created> {
    let (_, tmp) = temp_beside(target)?;
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        if sync {
            f.sync_all()?;
        }
        link_into_place(&tmp, target, sync)
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Hard-links `tmp` to `target` unless `target` exists; syncs the directory if `sync`.
fn link_into_place(tmp: &Path, target: &Path, sync: bool) -> std::io::Result<Created> {
    match std::fs::hard_link(tmp, target) {
        Ok(()) => {
            if sync && let Some(dir) = target.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(Created::Created)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Created::Exists),
        Err(e) => Err(e),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or(Err(StoreError::Cancelled))
}

impl LocalStore {
    /// A store rooted at `root` (created if missing).
    pub fn new(root: PathBuf) -> Result<LocalStore, String> {
        std::fs::create_dir_all(&root)
            .map_err(|e| format!("cannot create {}: {e}", root.display()))?;
        Ok(LocalStore { root })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn upload_dir(&self, upload: &str) -> PathBuf {
        self.root.join("_sluice/uploads").join(upload)
    }

    pub(super) fn uri(&self, key: &str) -> String {
        format!("file://{}", self.path(key).display())
    }

    pub(super) async fn put_if_absent(
        &self,
        key: &str,
        data: Bytes,
    ) -> Result<Created, StoreError> {
        self.put(key, data, true).await
    }

    /// [`Self::put_if_absent`] without syncing: the file is durable only after [`Self::sync`].
    pub(super) async fn put_if_absent_unsynced(
        &self,
        key: &str,
        data: Bytes,
    ) -> Result<Created, StoreError> {
        self.put(key, data, false).await
    }

    async fn put(&self, key: &str, data: Bytes, sync: bool) -> Result<Created, StoreError> {
        let path = self.path(key);
        blocking(move || {
            create_file_with(&path, &data, sync).map_err(|e| permanent("PUT", &path, e))
        })
        .await
    }

    /// Replaces `key` with `data`, durably (a synced temporary file renamed over it): the
    /// repair of a published file that a power loss left short or wrong.
    pub(super) async fn rewrite(&self, key: &str, data: Bytes) -> Result<(), StoreError> {
        let path = self.path(key);
        blocking(move || {
            let io = |e| permanent("REWRITE", &path, e);
            let (dir, tmp) = temp_beside(&path).map_err(io)?;
            let result = (|| {
                let mut f = std::fs::File::create(&tmp)?;
                f.write_all(&data)?;
                f.sync_all()?;
                std::fs::rename(&tmp, &path)?;
                std::fs::File::open(&dir)?.sync_all()
            })();
            let _ = std::fs::remove_file(&tmp);
            result.map_err(io)
        })
        .await
    }

    /// Makes everything written to the root's filesystem durable (`syncfs`).
    pub(super) async fn sync(&self) -> Result<(), StoreError> {
        use std::os::fd::AsRawFd as _;
        let root = self.root.clone();
        blocking(move || {
            let dir = std::fs::File::open(&root).map_err(|e| permanent("SYNC", &root, e))?;
            // SAFETY: syncfs only reads the descriptor, which `dir` keeps open.
            if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
                return Err(permanent("SYNC", &root, std::io::Error::last_os_error()));
            }
            Ok(())
        })
        .await
    }

    pub(super) async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let path = self.path(key);
        blocking(move || match std::fs::read(&path) {
            Ok(b) => Ok(Some(Bytes::from(b))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(permanent("GET", &path, e)),
        })
        .await
    }

    pub(super) async fn size(&self, key: &str) -> Result<Option<u64>, StoreError> {
        let path = self.path(key);
        blocking(move || match std::fs::metadata(&path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(permanent("HEAD", &path, e)),
        })
        .await
    }

    pub(super) async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        let start_after = start_after.map(str::to_owned);
        blocking(move || {
            // Walk from the deepest directory the prefix names.
            let base = match prefix.rfind('/') {
                Some(i) => prefix[..=i].to_owned(),
                None => String::new(),
            };
            let mut keys = Vec::new();
            let mut stack = vec![base];
            while let Some(dir) = stack.pop() {
                let entries = match std::fs::read_dir(root.join(&dir)) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(permanent("LIST", &root.join(&dir), e)),
                };
                for entry in entries {
                    let entry = entry.map_err(|e| permanent("LIST", &root.join(&dir), e))?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.starts_with('.') {
                        continue;
                    }
                    let key = format!("{dir}{name}");
                    if entry.file_type().is_ok_and(|t| t.is_dir()) {
                        if prefix.starts_with(&format!("{key}/")) || key.starts_with(&prefix) {
                            stack.push(format!("{key}/"));
                        }
                    } else if key.starts_with(&prefix)
                        && start_after
                            .as_ref()
                            .is_none_or(|s| key.as_str() > s.as_str())
                    {
                        keys.push(key);
                    }
                }
            }
            keys.sort();
            keys.truncate(limit);
            Ok(keys)
        })
        .await
    }

    pub(super) async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key);
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(permanent("DELETE", &path, e)),
        })
        .await
    }

    pub(super) async fn begin_upload(&self, key: &str) -> Result<String, StoreError> {
        let id = random_id();
        let dir = self.upload_dir(&id);
        let key = key.to_owned();
        blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| permanent("CreateUpload", &dir, e))?;
            create_file(&dir.join("key"), key.as_bytes())
                .map_err(|e| permanent("CreateUpload", &dir, e))?;
            Ok(id)
        })
        .await
    }

    pub(super) async fn upload_part(
        &self,
        _key: &str,
        upload: &str,
        number: i32,
        data: Bytes,
    ) -> Result<Part, StoreError> {
        let dir = self.upload_dir(upload);
        let path = dir.join(format!("{number:06}"));
        let location = self.uri(_key);
        blocking(move || {
            if !dir.exists() {
                return Err(StoreError::UploadGone {
                    operation: "UploadPart",
                    location,
                });
            }
            let size = data.len() as u64;
            let _ = std::fs::remove_file(&path);
            create_file(&path, &data).map_err(|e| permanent("UploadPart", &path, e))?;
            Ok(Part {
                number,
                etag: format!("{size}"),
                size,
            })
        })
        .await
    }

    pub(super) async fn complete_upload(
        &self,
        key: &str,
        upload: &str,
        parts: &[Part],
    ) -> Result<Created, StoreError> {
        let dir = self.upload_dir(upload);
        let target = self.path(key);
        let parts = parts.to_vec();
        blocking(move || {
            if !dir.exists() {
                // Completed before: the object is there (or was never staged here).
                return Ok(Created::Exists);
            }
            if std::fs::symlink_metadata(&target).is_ok() {
                // Completed before, and a crash stopped the removal of the upload's folder
                // below part-way: its parts may be gone, the object is there.
                let _ = std::fs::remove_dir_all(&dir);
                return Ok(Created::Exists);
            }
            let io = |e| permanent("CompleteUpload", &target, e);
            let (_, tmp) = temp_beside(&target).map_err(io)?;
            let result = (|| {
                let mut out = std::fs::File::create(&tmp)?;
                for p in &parts {
                    let mut f = std::fs::File::open(dir.join(format!("{:06}", p.number)))?;
                    std::io::copy(&mut f, &mut out)?;
                }
                out.sync_all()?;
                link_into_place(&tmp, &target, true)
            })();
            let _ = std::fs::remove_file(&tmp);
            let created = result.map_err(io)?;
            let _ = std::fs::remove_dir_all(&dir);
            Ok(created)
        })
        .await
    }

    pub(super) async fn abort_upload(&self, _key: &str, upload: &str) -> Result<(), StoreError> {
        let dir = self.upload_dir(upload);
        blocking(move || match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(permanent("AbortUpload", &dir, e)),
        })
        .await
    }

    pub(super) async fn list_uploads(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let base = self.root.join("_sluice/uploads");
        let prefix = prefix.to_owned();
        blocking(move || {
            let mut out = Vec::new();
            let entries = match std::fs::read_dir(&base) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
                Err(e) => return Err(permanent("ListUploads", &base, e)),
            };
            for entry in entries.flatten() {
                let id = entry.file_name().to_string_lossy().into_owned();
                if let Ok(key) = std::fs::read_to_string(entry.path().join("key"))
                    && key.starts_with(&prefix)
                {
                    out.push((key, id));
                }
            }
            Ok(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn completing_an_upload_whose_folder_a_crash_left_half_removed_finds_the_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().to_owned()).unwrap();
        let key = "p=1/f.json";
        let id = store.begin_upload(key).await.unwrap();
        let mut parts = Vec::new();
        for (n, text) in [(1, "aaa\n"), (2, "bbb\n")] {
            parts.push(
                store
                    .upload_part(key, &id, n, Bytes::from_static(text.as_bytes()))
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(
            store.complete_upload(key, &id, &parts).await.unwrap(),
            Created::Created
        );
        // The removal of the folder was cut short: part 1 is gone, the folder and part 2 stay.
        let folder = store.upload_dir(&id);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("000002"), "bbb\n").unwrap();
        assert_eq!(
            store.complete_upload(key, &id, &parts).await.unwrap(),
            Created::Exists
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join(key)).unwrap(),
            "aaa\nbbb\n"
        );
        assert!(!folder.exists(), "the half-removed folder stays behind");
    }

    /// kill -9 between creating a temporary file and linking it into place leaves the hidden
    /// temporary behind: listing (recovery, the commit log, the oracle) must not take it for
    /// an object, and a retry of the same write must still create the object.
    #[tokio::test]
    async fn a_temporary_file_left_by_a_crash_is_neither_listed_nor_in_the_way() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().to_owned()).unwrap();
        let (folder, leftover) = temp_beside(&dir.path().join("p=1/f.json")).unwrap();
        std::fs::write(&leftover, "half a fil").unwrap();
        assert!(leftover.starts_with(&folder));
        assert_eq!(
            store.list("p=1/", None, 100).await.unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            store
                .put_if_absent("p=1/f.json", Bytes::from_static(b"whole\n"))
                .await
                .unwrap(),
            Created::Created
        );
        assert_eq!(
            store.list("p=1/", None, 100).await.unwrap(),
            vec!["p=1/f.json"]
        );
        assert_eq!(store.list("", None, 100).await.unwrap(), vec!["p=1/f.json"]);
    }

    #[tokio::test]
    async fn a_part_of_an_upload_another_claim_aborted_is_gone_not_an_error_of_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().to_owned()).unwrap();
        let id = store.begin_upload("p/f.json").await.unwrap();
        store.abort_upload("p/f.json", &id).await.unwrap();
        let e = store
            .upload_part("p/f.json", &id, 1, Bytes::from_static(b"x\n"))
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::UploadGone { .. }), "{e}");
        assert!(
            !store.upload_dir(&id).exists(),
            "the aborted upload came back"
        );
    }
}
