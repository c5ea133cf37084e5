//! Where the accurate tier's model is found, wherever newsflow runs.
//!
//! A configured `tagger.accurate_model` is the only place looked at (a relative path was
//! already read against the configuration file's directory by [`Config::load`]). Without
//! one, the first of these that exists is used:
//!
//! 1. `$NEWSFLOW_MODEL_DIR/ner-accurate.bin`;
//! 2. `share/newsflow/models/ner-accurate.bin` beside the executable's directory (a
//!    package or tarball laid out as `bin/newsflow` + `share/newsflow/models/`);
//! 3. `/usr/share/newsflow/models/ner-accurate.bin` (the container image);
//! 4. `models/ner-accurate.bin` in the source tree the binary was built from (`cargo run`,
//!    `cargo install --path .` while the checkout stays);
//! 5. the copy linked into the binary at build time (cargo feature `embedded-model`, on by
//!    default), so an installed binary works with nothing beside it.
//!
//! When none is found, the error lists each path tried, once.
//!
//! [`Config::load`]: crate::config::Config::load

use crate::core::tag::ModelSource;
use std::path::{Path, PathBuf};

/// File name of the accurate tier's model.
pub const MODEL_FILE_NAME: &str = "ner-accurate.bin";

/// Environment variable naming a directory that holds the model.
pub const MODEL_DIR_ENV: &str = "NEWSFLOW_MODEL_DIR";

/// Where a system package installs the model.
pub const SYSTEM_MODEL_DIR: &str = "/usr/share/newsflow/models";

/// The source tree's model directory, as built.
const SOURCE_MODEL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models");

/// A model file's bytes linked into the running binary, and what to call them in logs.
#[derive(Debug, Clone, Copy)]
pub struct LinkedModel {
    /// The file's contents.
    pub bytes: &'static [u8],
    /// A name for logs and errors.
    pub origin: &'static str,
}

/// The model that was found.
#[derive(Debug, Clone)]
pub enum Located {
    /// A file on disk.
    File(PathBuf),
    /// The copy linked into the binary.
    Linked(LinkedModel),
}

impl Located {
    /// The core's view of it.
    pub fn source(&self) -> ModelSource<'_> {
        match self {
            Located::File(path) => ModelSource::File(path),
            Located::Linked(m) => ModelSource::Bytes {
                bytes: m.bytes,
                origin: m.origin,
            },
        }
    }
}

impl std::fmt::Display for Located {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.source().fmt(f)
    }
}

/// No model where it was looked for.
#[derive(Debug, thiserror::Error)]
pub enum ModelNotFound {
    /// The configured file does not exist.
    #[error(
        "the accurate tier's model file {} does not exist (tagger.accurate_model; a relative \
         path is read against the configuration file's directory)",
        .0.display()
    )]
    Configured(PathBuf),
    /// None of the default places holds it.
    #[error(
        "no accurate-tier model found; looked for {}; set {MODEL_DIR_ENV} or \
         tagger.accurate_model, or run with the fast tier (--tagger fast)",
        list(.0)
    )]
    Searched(Vec<PathBuf>),
}

fn list(paths: &[PathBuf]) -> String {
    let parts: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    parts.join(", ")
}

/// The default places, in the order they are searched, for this process: `model_dir` is
/// `$NEWSFLOW_MODEL_DIR`, `exe` the running executable.
pub fn search_path(model_dir: Option<&Path>, exe: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = model_dir.filter(|d| !d.as_os_str().is_empty()) {
        dirs.push(d.to_path_buf());
    }
    if let Some(prefix) = exe.and_then(Path::parent).and_then(Path::parent) {
        dirs.push(prefix.join("share/newsflow/models"));
    }
    dirs.push(PathBuf::from(SYSTEM_MODEL_DIR));
    dirs.push(PathBuf::from(SOURCE_MODEL_DIR));
    let mut paths: Vec<PathBuf> = Vec::new();
    for d in dirs {
        let p = d.join(MODEL_FILE_NAME);
        if !paths.contains(&p) {
            paths.push(p);
        }
    }
    paths
}

/// Finds the accurate tier's model: the `configured` file if one is set, else the first of
/// `search` that exists, else `linked`.
pub fn locate_in(
    configured: Option<&Path>,
    search: &[PathBuf],
    linked: Option<LinkedModel>,
) -> Result<Located, ModelNotFound> {
    if let Some(path) = configured {
        return if path.exists() {
            Ok(Located::File(path.to_path_buf()))
        } else {
            Err(ModelNotFound::Configured(path.to_path_buf()))
        };
    }
    if let Some(found) = search.iter().find(|p| p.is_file()) {
        return Ok(Located::File(found.clone()));
    }
    linked
        .map(Located::Linked)
        .ok_or_else(|| ModelNotFound::Searched(search.to_vec()))
}

/// [`locate_in`] over this process's [`search_path`].
pub fn locate(
    configured: Option<&Path>,
    linked: Option<LinkedModel>,
) -> Result<Located, ModelNotFound> {
    let model_dir = std::env::var_os(MODEL_DIR_ENV).map(PathBuf::from);
    let exe = std::env::current_exe().ok();
    let search = search_path(model_dir.as_deref(), exe.as_deref());
    locate_in(configured, &search, linked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("newsflow-models-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn search_order_is_env_then_beside_the_executable_then_system_then_source() {
        let paths = search_path(
            Some(Path::new("/opt/m")),
            Some(Path::new("/usr/local/bin/newsflow")),
        );
        assert_eq!(paths[0], Path::new("/opt/m/ner-accurate.bin"));
        assert_eq!(
            paths[1],
            Path::new("/usr/local/share/newsflow/models/ner-accurate.bin")
        );
        assert_eq!(
            paths[2],
            Path::new("/usr/share/newsflow/models/ner-accurate.bin")
        );
        assert_eq!(paths[3], Path::new(SOURCE_MODEL_DIR).join(MODEL_FILE_NAME));
        assert_eq!(paths.len(), 4);
        // `/usr/bin/newsflow` puts the second and third entries in one place: listed once.
        assert_eq!(
            search_path(None, Some(Path::new("/usr/bin/newsflow"))).len(),
            2
        );
    }

    #[test]
    fn the_first_existing_file_wins_and_the_linked_copy_comes_last() {
        let d = temp_dir("order");
        let (a, b) = (d.join("a/ner-accurate.bin"), d.join("b/ner-accurate.bin"));
        std::fs::create_dir_all(b.parent().unwrap()).unwrap();
        std::fs::write(&b, b"x").unwrap();
        let linked = LinkedModel {
            bytes: b"linked",
            origin: "linked",
        };
        let found = locate_in(None, &[a.clone(), b.clone()], Some(linked)).unwrap();
        assert!(matches!(found, Located::File(p) if p == b));
        let found = locate_in(None, std::slice::from_ref(&a), Some(linked)).unwrap();
        assert!(matches!(found, Located::Linked(_)));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_configured_file_is_the_only_place_looked_at() {
        let d = temp_dir("configured");
        let missing = d.join("nope.bin");
        let linked = LinkedModel {
            bytes: b"linked",
            origin: "linked",
        };
        let err = locate_in(Some(&missing), &[], Some(linked)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("nope.bin") && text.contains("tagger.accurate_model"),
            "{text}"
        );
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn not_found_lists_every_path_tried_once() {
        let paths = vec![PathBuf::from("/x/one.bin"), PathBuf::from("/y/two.bin")];
        let text = locate_in(None, &paths, None).unwrap_err().to_string();
        assert_eq!(text.matches("/x/one.bin").count(), 1, "{text}");
        assert_eq!(text.matches("/y/two.bin").count(), 1, "{text}");
        assert!(text.contains(MODEL_DIR_ENV), "{text}");
        assert!(!text.contains("os error"), "{text}");
    }
}
