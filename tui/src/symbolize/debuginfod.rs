//! Debug files from debuginfod servers (`DEBUGINFOD_URLS`), for stripped binaries that have no
//! debug file installed.
//!
//! Fetches run on a thread of their own, so neither the UI nor the symbolizer ever waits on
//! the network: stacks symbolized before a file arrives keep the `.dynsym` names they had;
//! later ones get the debug file's names and lines. Each build id is asked for once per run,
//! each request is bounded in time and size, and what arrives is kept under
//! [`cache_dir`] in the `.build-id/xx/rest.debug` layout, where the symbolizer looks for
//! debug files anyway: a file fetched once serves every later run.

use std::io::Write as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;

use super::unwind::tables::{build_id_path, has_debug_file};

/// Time to connect to one server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for one whole download: a large debug file on a slow link is abandoned, not waited for.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest debug file taken (libxul's is about 1.5 GiB; a typical library's a few MiB).
const MAX_FILE_BYTES: u64 = 2 << 30;
/// Build ids remembered as asked for in this run; one forgotten may be asked for again.
pub const ASKED_MAX: usize = 4096;
/// The cache directory's size, at most: past it, the files used least recently go.
pub const CACHE_BYTES_MAX: u64 = 4 << 30;

/// Where fetched debug files are kept: `$RINGSIDE_DEBUGINFOD_CACHE`, else
/// `$XDG_CACHE_HOME/ringside/debuginfod`, else `~/.cache/ringside/debuginfod`.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("RINGSIDE_DEBUGINFOD_CACHE") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))?;
    Some(base.join("ringside").join("debuginfod"))
}

/// The servers named by `DEBUGINFOD_URLS`.
pub fn server_urls() -> Vec<String> {
    parse_urls(&std::env::var("DEBUGINFOD_URLS").unwrap_or_default())
}

/// URLs separated by white space, as elfutils reads them; only HTTP(S) ones are servers.
fn parse_urls(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|url| url.trim_end_matches('/').to_owned())
        .filter(|url| url.starts_with("http://") || url.starts_with("https://"))
        .collect()
}

/// The symbolizer's side: asks for build ids and learns which have arrived.
pub struct Debuginfod {
    asked: lru::LruCache<Vec<u8>, ()>,
    requests: Sender<Vec<u8>>,
    /// Each request's outcome: whether its file is now in the cache.
    outcomes: Receiver<(Vec<u8>, bool)>,
}

impl Debuginfod {
    /// Starts the fetch thread when `DEBUGINFOD_URLS` names a server; `None` otherwise.
    pub fn from_env() -> Option<Self> {
        let servers = server_urls();
        if servers.is_empty() {
            return None;
        }
        let cache = cache_dir()?;
        Self::start(servers, cache)
    }

    fn start(servers: Vec<String>, cache: PathBuf) -> Option<Self> {
        let (requests, incoming) = std::sync::mpsc::channel();
        let (outcomes_tx, outcomes) = std::sync::mpsc::channel();
        let fetcher = Fetcher::new(servers, cache);
        std::thread::Builder::new()
            .name("debuginfod".into())
            .spawn(move || fetcher.run(&incoming, &outcomes_tx))
            .map_err(|error| tracing::warn!("debuginfod: cannot start its thread: {error}"))
            .ok()?;
        Some(Self {
            asked: lru::LruCache::new(NonZeroUsize::new(ASKED_MAX).unwrap_or(NonZeroUsize::MIN)),
            requests,
            outcomes,
        })
    }

    /// Asks for the debug file of `build_id` unless one is under `debug_dirs` already; each
    /// build id is considered once per run.
    pub fn request(&mut self, build_id: &[u8], debug_dirs: &[PathBuf]) {
        if self.asked.get(build_id).is_some() {
            return;
        }
        self.asked.put(build_id.to_vec(), ());
        if !has_debug_file(debug_dirs, build_id) {
            let _ = self.requests.send(build_id.to_vec());
        }
    }

    /// Whether any debug file arrived since the last call.
    pub fn any_arrived(&self) -> bool {
        self.outcomes
            .try_iter()
            .filter(|(_, arrived)| *arrived)
            .count()
            > 0
    }
}

struct Fetcher {
    servers: Vec<String>,
    cache: PathBuf,
    agent: ureq::Agent,
}

impl Fetcher {
    fn new(servers: Vec<String>, cache: PathBuf) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(DOWNLOAD_TIMEOUT))
            .http_status_as_error(false)
            // Fetches are rare and one at a time: one idle connection is plenty, and each is
            // a descriptor.
            .max_idle_connections(1)
            .max_idle_connections_per_host(1)
            .build()
            .into();
        Self {
            servers,
            cache,
            agent,
        }
    }

    fn run(self, requests: &Receiver<Vec<u8>>, outcomes: &Sender<(Vec<u8>, bool)>) {
        trim_cache(&self.cache, CACHE_BYTES_MAX);
        for build_id in requests {
            let arrived = build_id_path(&self.cache, &build_id).is_some_and(|target| {
                if target.is_file() {
                    // Used now: the trim keeps it over files not used for longer.
                    let _ = std::fs::File::options()
                        .write(true)
                        .open(&target)
                        .and_then(|file| file.set_modified(std::time::SystemTime::now()));
                    true
                } else {
                    let fetched = self.fetch(&build_id, &target);
                    if fetched {
                        trim_cache(&self.cache, CACHE_BYTES_MAX);
                    }
                    fetched
                }
            });
            let _ = outcomes.send((build_id, arrived));
        }
    }

    /// Tries each server in turn; true once the file is in place.
    fn fetch(&self, build_id: &[u8], target: &Path) -> bool {
        let hex = crate::output::json::fields::hex(build_id);
        for server in &self.servers {
            let url = format!("{server}/buildid/{hex}/debuginfo");
            match self.download(&url, build_id, target) {
                Ok(true) => {
                    tracing::info!("debuginfod: fetched {url} to {}", target.display());
                    return true;
                }
                Ok(false) => tracing::debug!("debuginfod: {url} has no such file"),
                Err(error) => tracing::warn!("debuginfod: {url}: {error}"),
            }
        }
        false
    }

    /// Downloads `url` into `target` through a temporary file beside it, so that a cut
    /// download never leaves a partial debug file where the symbolizer would read it.
    /// `Ok(false)`: the server has no such file.
    fn download(&self, url: &str, build_id: &[u8], target: &Path) -> anyhow::Result<bool> {
        let mut response = self.agent.get(url).call()?;
        if response.status() != 200 {
            return Ok(false);
        }
        let dir = target
            .parent()
            .ok_or_else(|| anyhow::anyhow!("no directory for {}", target.display()))?;
        std::fs::create_dir_all(dir)?;
        let mut partial = tempfile::NamedTempFile::new_in(dir)?;
        let mut body = response
            .body_mut()
            .with_config()
            .limit(MAX_FILE_BYTES)
            .reader();
        std::io::copy(&mut body, &mut partial)?;
        partial.flush()?;
        // A proxy's error page or another binary's file must not sit under this build id:
        // it would be taken for the debug file in this run and every later one.
        check_debug_file(partial.path(), build_id)?;
        let file = partial.persist(target)?;
        // Others may read debug files; nothing secret is in them.
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
        Ok(true)
    }
}

/// Removes the least recently used debug files under `cache` (by modification time, which a
/// use renews) until what is left takes at most `max_bytes`.
fn trim_cache(cache: &Path, max_bytes: u64) {
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = Vec::new();
    let Ok(prefixes) = std::fs::read_dir(cache.join(".build-id")) else {
        return;
    };
    for prefix in prefixes.flatten() {
        let Ok(entries) = std::fs::read_dir(prefix.path()) else {
            continue;
        };
        for entry in entries.flatten() {
            if let Ok(meta) = entry.metadata()
                && meta.is_file()
            {
                let used = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
                files.push((used, meta.len(), entry.path()));
            }
        }
    }
    let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
    files.sort();
    for (_, len, path) in files {
        if total <= max_bytes {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            tracing::info!(
                "debuginfod: cache over its bound, removed {}",
                path.display()
            );
            total -= len;
        }
    }
}

/// `path` is an ELF file with the build id `build_id`.
fn check_debug_file(path: &Path, build_id: &[u8]) -> anyhow::Result<()> {
    use object::Object as _;
    let cache = object::read::ReadCache::new(std::fs::File::open(path)?);
    let elf = object::File::parse(&cache)
        .map_err(|error| anyhow::anyhow!("the server sent something that is not ELF: {error}"))?;
    let found = elf.build_id().ok().flatten().unwrap_or_default();
    anyhow::ensure!(
        found == build_id,
        "the server sent the debug file of another build ({})",
        crate::output::json::fields::hex(found)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::net::TcpListener;

    use super::*;

    /// A one-file debuginfod server on loopback: answers `/buildid/<id>/debuginfo` for one
    /// build id, 404 for anything else. Serves `requests` requests, then stops.
    fn serve(build_id_hex: String, body: Vec<u8>, requests: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            for stream in listener.incoming().take(requests) {
                let Ok(mut stream) = stream else { continue };
                let mut request = String::new();
                let _ = BufReader::new(&stream).read_line(&mut request);
                let wanted = format!("GET /buildid/{build_id_hex}/debuginfo ");
                let reply = if request.starts_with(&wanted) {
                    let mut reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    reply.extend_from_slice(&body);
                    reply
                } else {
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_vec()
                };
                let _ = stream.write_all(&reply);
            }
        });
        url
    }

    /// The outcome of the next request the fetcher finishes.
    fn next_outcome(client: &Debuginfod) -> (Vec<u8>, bool) {
        client
            .outcomes
            .recv_timeout(Duration::from_secs(30))
            .expect("the fetcher answers every request")
    }

    /// A real ELF file with a build id, standing in for a debug file: this test binary.
    fn elf_with_build_id() -> (Vec<u8>, Vec<u8>) {
        use object::Object as _;
        let bytes = std::fs::read(std::env::current_exe().expect("exe")).expect("read");
        let build_id = object::File::parse(&*bytes)
            .expect("ELF")
            .build_id()
            .expect("notes")
            .expect("the test binary has a build id")
            .to_vec();
        (bytes, build_id)
    }

    #[test]
    fn fetches_a_debug_file_once_into_the_build_id_layout() {
        let cache = tempfile::tempdir().expect("cache");
        let (file, build_id) = elf_with_build_id();
        // The first server does not have it; the second does.
        let empty = serve(String::new(), Vec::new(), 1);
        let server = serve(crate::output::json::fields::hex(&build_id), file.clone(), 1);
        let mut client =
            Debuginfod::start(vec![empty, server], cache.path().to_owned()).expect("client");
        client.request(&build_id, &[]);
        client.request(&build_id, &[]);
        assert_eq!(next_outcome(&client), (build_id.clone(), true));
        assert!(
            client
                .outcomes
                .recv_timeout(Duration::from_millis(300))
                .is_err(),
            "a build id is asked for once"
        );
        let path = build_id_path(cache.path(), &build_id).expect("path");
        assert_eq!(std::fs::read(&path).expect("cached"), file);
        // No stray temporary files beside it.
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_missing_file_or_a_dead_server_arrives_as_nothing() {
        let cache = tempfile::tempdir().expect("cache");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let dead = format!("http://{}", listener.local_addr().expect("addr"));
        drop(listener);
        let server = serve("00".into(), Vec::new(), 1);
        let mut client =
            Debuginfod::start(vec![dead, server], cache.path().to_owned()).expect("client");
        client.request(&[0x12, 0x34], &[]);
        assert_eq!(next_outcome(&client), (vec![0x12, 0x34], false));
        assert!(!cache.path().join(".build-id/12/34.debug").exists());
    }

    #[test]
    fn an_answer_that_is_not_that_build_s_elf_file_is_not_kept() {
        let cache = tempfile::tempdir().expect("cache");
        let (file, build_id) = elf_with_build_id();
        let hex = crate::output::json::fields::hex(&build_id);
        // A proxy's error page, then the right path with another build's file.
        let page = serve(hex.clone(), b"<html>sign in</html>".to_vec(), 1);
        let mut other = build_id.clone();
        other[0] ^= 0xff;
        let wrong = serve(crate::output::json::fields::hex(&other), file, 1);
        let mut client = Debuginfod::start(vec![page], cache.path().to_owned()).expect("client");
        client.request(&build_id, &[]);
        assert_eq!(next_outcome(&client), (build_id.clone(), false));
        // This server answers for `other` with a file whose build id is `build_id`.
        let mut client = Debuginfod::start(vec![wrong], cache.path().to_owned()).expect("client");
        client.request(&other, &[]);
        assert_eq!(next_outcome(&client), (other.clone(), false));
        for id in [build_id, other] {
            let path = build_id_path(cache.path(), &id).expect("path");
            assert!(!path.exists(), "{} kept", path.display());
        }
    }

    #[test]
    fn a_debug_file_already_installed_is_not_fetched() {
        let cache = tempfile::tempdir().expect("cache");
        let installed = tempfile::tempdir().expect("debug dir");
        let build_id = [0x56, 0x78];
        let path = build_id_path(installed.path(), &build_id).expect("path");
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, b"installed").expect("write");
        let server = serve("5678".into(), b"fetched".to_vec(), 1);
        let mut client = Debuginfod::start(vec![server], cache.path().to_owned()).expect("client");
        client.request(&build_id, &[installed.path().to_owned()]);
        assert!(
            client
                .outcomes
                .recv_timeout(Duration::from_millis(500))
                .is_err(),
            "nothing asked of the server"
        );
        assert!(!cache.path().join(".build-id").exists());
    }

    #[test]
    fn only_http_urls_are_servers() {
        let urls = "https://debuginfod.example/ file:///x \n http://127.0.0.1:8002  ";
        assert_eq!(
            parse_urls(urls),
            ["https://debuginfod.example", "http://127.0.0.1:8002"]
        );
        assert!(parse_urls("").is_empty());
    }
}
