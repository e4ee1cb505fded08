//! `state.json`: a versioned snapshot written atomically (temp file + rename). A file that cannot be
//! read as our format stops start-up with an error naming it; it is never overwritten.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::state::{Operation, RegState, Resource, SoftDeleted, State};

pub(crate) const FORMAT: &str = "trench-armsim-state";
/// 2: soft-deleted objects in one store (`soft_deleted`), not per type.
pub(crate) const VERSION: u64 = 2;

#[derive(Serialize)]
struct SnapshotRef<'a> {
    format: &'static str,
    version: u64,
    saved_at: String,
    seq: u64,
    resources: Vec<&'a Resource>,
    operations: Vec<&'a Operation>,
    soft_deleted: &'a BTreeMap<String, SoftDeleted>,
    registrations: &'a BTreeMap<String, BTreeMap<String, RegState>>,
    incarnations: BTreeMap<&'a String, u32>,
}

#[derive(Deserialize)]
struct Snapshot {
    seq: u64,
    resources: Vec<Resource>,
    #[serde(default)]
    operations: Vec<Operation>,
    #[serde(default)]
    soft_deleted: BTreeMap<String, SoftDeleted>,
    #[serde(default)]
    registrations: BTreeMap<String, BTreeMap<String, RegState>>,
    #[serde(default)]
    incarnations: BTreeMap<String, u32>,
}

pub(crate) fn state_path(dir: &Path) -> PathBuf {
    dir.join("state.json")
}

/// Streams the state as JSON into `out` (called under the read lock; streaming avoids holding a
/// second copy of a multi-megabyte snapshot in memory).
pub(crate) fn serialise(st: &State, now_ms: i64, out: impl Write) -> serde_json::Result<()> {
    let mut ops: Vec<&Operation> = st.op_order.iter().filter_map(|id| st.ops.get(id)).collect();
    ops.sort_by_key(|o| o.start_ms);
    let snap = SnapshotRef {
        format: FORMAT,
        version: VERSION,
        saved_at: crate::clock::rfc3339(now_ms),
        seq: st.seq,
        resources: st.resources.values().collect(),
        operations: ops,
        soft_deleted: &st.soft_deleted,
        registrations: &st.registrations,
        incarnations: st.incarnations.iter().map(|(k, v)| (k, *v)).collect(),
    };
    serde_json::to_writer(out, &snap)
}

/// Writes `bytes` to `path` atomically.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Writes what `fill` produces to a temporary file, syncs it and renames it over `path`.
pub(crate) fn write_atomic_with(path: &Path, fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let io = |action, source| Error::Io { action, path: tmp.clone(), source };
    let f = std::fs::File::create(&tmp).map_err(|e| io("creating", e))?;
    let mut w = std::io::BufWriter::with_capacity(256 * 1024, f);
    fill(&mut w).map_err(|e| io("writing", e))?;
    let f = w.into_inner().map_err(|e| io("writing", e.into_error()))?;
    f.sync_all().map_err(|e| io("syncing", e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| Error::Io { action: "renaming into place", path: path.to_path_buf(), source: e })
}

/// Loads the snapshot, or an empty state when there is none.
pub(crate) fn load(path: &Path) -> Result<State> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
        Err(e) => return Err(Error::Io { action: "reading", path: path.to_path_buf(), source: e }),
    };
    let bad = |reason: String| Error::State { path: path.to_path_buf(), reason };
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| bad(format!("not valid JSON ({e})")))?;
    let format = v.get("format").and_then(Value::as_str);
    if format != Some(FORMAT) {
        return Err(bad(match format {
            Some(f) => format!("it is a {f:?} file, not a {FORMAT:?} file"),
            None => format!("it has no \"format\": {FORMAT:?} field, so it is not a trench-armsim state file"),
        }));
    }
    match v.get("version").and_then(Value::as_u64) {
        Some(VERSION) => {}
        Some(n) if n > VERSION => {
            return Err(bad(format!("it has version {n}, written by a newer trench-armsim (this one reads version {VERSION})")));
        }
        Some(n) if n < VERSION => {
            return Err(bad(format!(
                "it has version {n}, written by an older trench-armsim (this one reads version {VERSION}); move it away to start empty"
            )));
        }
        other => return Err(bad(format!("unsupported version {other:?} (this trench-armsim reads version {VERSION})"))),
    }
    let snap: Snapshot = serde_json::from_value(v).map_err(|e| bad(format!("its content does not match version {VERSION} ({e})")))?;
    let mut st = State::default();
    st.seq = snap.seq;
    for r in snap.resources {
        if crate::spec::lookup(&r.type_name.to_ascii_lowercase()).is_none() {
            return Err(bad(format!("resource {} has unknown type {}", r.id, r.type_name)));
        }
        st.resources.insert(r.key(), r);
    }
    for op in snap.operations {
        st.op_order.push(op.id.clone());
        st.ops.insert(op.id.clone(), op);
    }
    st.soft_deleted = snap.soft_deleted;
    st.registrations = snap.registrations;
    st.incarnations = snap.incarnations.into_iter().collect();
    st.rebuild_indexes();
    Ok(st)
}
