//! The console's files, compiled into the binary, each prepared once on first use: its gzip
//! body, its strong `ETag` (a hash of its bytes) and its content type. The table lists every
//! file under `assets/`; a test keeps the two in step.

use std::io::Write;
use std::sync::OnceLock;

use flate2::Compression;
use flate2::write::GzEncoder;

/// One file as the browser asks for it (`/console/app.js`) and as it is compiled in.
struct Source {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! sources {
    ($( $path:literal => $content_type:expr ),* $(,)?) => {
        &[$( Source {
            path: $path,
            content_type: $content_type,
            bytes: include_bytes!(concat!("../assets/", $path)),
        } ),*]
    };
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

static SOURCES: &[Source] = sources![
    "index.html" => "text/html; charset=utf-8",
    "style.css" => "text/css; charset=utf-8",
    "favicon.svg" => "image/svg+xml",
    "app.js" => JAVASCRIPT,
    "api.js" => JAVASCRIPT,
    "live.js" => JAVASCRIPT,
    "view.js" => JAVASCRIPT,
    "charts.js" => JAVASCRIPT,
    "pages/login.js" => JAVASCRIPT,
    "pages/inbox.js" => JAVASCRIPT,
    "pages/conversation.js" => JAVASCRIPT,
    "pages/search.js" => JAVASCRIPT,
    "pages/runs.js" => JAVASCRIPT,
    "pages/queue.js" => JAVASCRIPT,
    "pages/channels.js" => JAVASCRIPT,
    "pages/agents.js" => JAVASCRIPT,
    "pages/credits.js" => JAVASCRIPT,
    "pages/campaigns.js" => JAVASCRIPT,
    "pages/analytics.js" => JAVASCRIPT,
    "pages/users.js" => JAVASCRIPT,
    "pages/platform.js" => JAVASCRIPT,
];

/// A file ready to serve.
pub(crate) struct Asset {
    pub(crate) path: &'static str,
    pub(crate) content_type: &'static str,
    pub(crate) identity: &'static [u8],
    pub(crate) gzip: Vec<u8>,
    /// A strong validator, quoted as the header wants it.
    pub(crate) etag: String,
}

/// The file at `path` (relative to `assets/`), if the console has it.
pub(crate) fn find(path: &str) -> Option<&'static Asset> {
    prepared().iter().find(|asset| asset.path == path)
}

/// Every file, prepared.
pub(crate) fn prepared() -> &'static [Asset] {
    static PREPARED: OnceLock<Vec<Asset>> = OnceLock::new();
    PREPARED.get_or_init(|| SOURCES.iter().map(prepare).collect())
}

fn prepare(source: &Source) -> Asset {
    Asset {
        path: source.path,
        content_type: source.content_type,
        identity: source.bytes,
        gzip: gzip(source.bytes),
        etag: format!("\"{:016x}\"", fnv1a(source.bytes)),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 3), Compression::best());
    // Writing into a Vec cannot fail; should it, the identity body is served instead.
    if encoder.write_all(bytes).is_err() {
        return Vec::new();
    }
    encoder.finish().unwrap_or_default()
}

/// FNV-1a, 64 bits: enough to tell two versions of a file apart, with no dependency.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_under_assets_is_served_and_nothing_else() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut on_disk = Vec::new();
        let mut folders = vec![root.clone()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("assets folder") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    folders.push(path);
                } else {
                    let relative = path.strip_prefix(&root).expect("under assets");
                    on_disk.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut listed: Vec<String> = SOURCES
            .iter()
            .map(|source| source.path.to_owned())
            .collect();
        listed.sort();
        assert_eq!(listed, on_disk);
    }

    #[test]
    fn the_first_load_stays_far_under_300_kb_compressed() {
        let total: usize = prepared().iter().map(|asset| asset.gzip.len()).sum();
        assert!(
            total < 100 * 1024,
            "the console weighs {total} bytes compressed"
        );
    }
}
