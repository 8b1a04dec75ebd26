//! Builds the stack-test programs in tests/fixtures once per test binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub struct Fixtures {
    /// C, `-O0 -g -fno-omit-frame-pointer`.
    pub c: PathBuf,
    /// The same, stripped of every symbol table but the dynamic one.
    pub c_stripped: PathBuf,
    pub cpp: PathBuf,
    pub rust: PathBuf,
    /// libc_calls.c as most of a server is built: `-O2 -fomit-frame-pointer -g`.
    pub no_frame_pointers: PathBuf,
    /// The same with its functions exported (`-rdynamic`), then stripped as Debian strips a
    /// package (a `.gnu_debuglink` names its debug file): only `.dynsym` names its functions
    /// until that file is found. The file is `dynsym_only_debug`, kept where no debug file
    /// search looks.
    pub dynsym_only: PathBuf,
    /// `objcopy --only-keep-debug` of `dynsym_only` before it was stripped.
    pub dynsym_only_debug: PathBuf,
    /// libc_calls.c with frame pointers but no unwind tables in .eh_frame
    /// (`-fno-asynchronous-unwind-tables`): its frames can only be found by their frame
    /// pointers, libc's only by its tables.
    pub frame_pointers_no_tables: PathBuf,
    /// fork_execl.c: a child that execs right after fork, with string literals for argv.
    pub fork_execl: PathBuf,
    /// hog.c: joins a memory cgroup and grows until the OOM killer stops it.
    pub hog: PathBuf,
}

fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn source(name: &str) -> String {
    std::fs::read_to_string(source_dir().join(name)).expect("fixture source")
}

/// The 1-based line of the source line tagged `LINE:tag`.
pub fn tagged_line(file: &str, tag: &str) -> u64 {
    let marker = format!("LINE:{tag}");
    let text = source(file);
    let index = text
        .lines()
        .position(|l| l.contains(&marker))
        .expect("tag in fixture");
    index as u64 + 1
}

/// Opens `path` through the nested C fixture (`nested-c`), whose stack names its functions
/// (`outer_open` calls `inner_open`), and waits for it to exit.
pub fn open_nested(path: &str) {
    let status = std::process::Command::new(&fixtures().c)
        .args(["open", path, "exit"])
        .status()
        .expect("running the C fixture");
    assert!(status.success(), "the C fixture failed: {status}");
}

pub fn fixtures() -> &'static Fixtures {
    static BUILT: OnceLock<Fixtures> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ringside-fixtures-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fixture dir");
        let src = source_dir();
        let frame_pointers = ["-O0", "-g", "-fno-omit-frame-pointer"];
        let c = compile(
            "cc",
            &frame_pointers,
            &src.join("nested.c"),
            &dir.join("nested-c"),
        );
        let c_stripped = dir.join("nested-stripped");
        std::fs::copy(&c, &c_stripped).expect("copy");
        run(Command::new("strip").arg(&c_stripped));
        let cpp = compile(
            "c++",
            &frame_pointers,
            &src.join("nested.cpp"),
            &dir.join("nested-cpp"),
        );
        let rust = dir.join("nested-rs");
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
        run(Command::new(rustc)
            .args([
                "-g",
                "-C",
                "opt-level=0",
                "-C",
                "force-frame-pointers=yes",
                "--edition",
                "2021",
                "-o",
            ])
            .arg(&rust)
            .arg(src.join("nested.rs")));
        let libc_calls = src.join("libc_calls.c");
        let no_frame_pointers = compile(
            "cc",
            &["-O2", "-fomit-frame-pointer", "-g"],
            &libc_calls,
            &dir.join("libc-calls"),
        );
        let dynsym_only = compile(
            "cc",
            &[
                "-O2",
                "-fomit-frame-pointer",
                "-g",
                "-rdynamic",
                "-Wl,--build-id=sha1",
            ],
            &libc_calls,
            &dir.join("libc-calls-dynsym"),
        );
        let kept = dir.join("kept-aside");
        std::fs::create_dir_all(&kept).expect("debug file dir");
        let dynsym_only_debug = kept.join("libc-calls-dynsym.debug");
        run(Command::new("objcopy")
            .arg("--only-keep-debug")
            .arg(&dynsym_only)
            .arg(&dynsym_only_debug));
        run(Command::new("strip").arg("--strip-all").arg(&dynsym_only));
        run(Command::new("objcopy")
            .arg(format!(
                "--add-gnu-debuglink={}",
                dynsym_only_debug.display()
            ))
            .arg(&dynsym_only));
        let frame_pointers_no_tables = compile(
            "cc",
            &[
                "-O1",
                "-g",
                "-fno-omit-frame-pointer",
                "-fno-asynchronous-unwind-tables",
                "-fno-unwind-tables",
            ],
            &libc_calls,
            &dir.join("libc-calls-fp"),
        );
        Fixtures {
            c,
            c_stripped,
            cpp,
            rust,
            no_frame_pointers,
            dynsym_only,
            dynsym_only_debug,
            frame_pointers_no_tables,
            fork_execl: compile(
                "cc",
                &["-O2"],
                &src.join("fork_execl.c"),
                &dir.join("fork-execl"),
            ),
            hog: compile("cc", &frame_pointers, &src.join("hog.c"), &dir.join("hog")),
        }
    })
}

/// `compiler FLAGS -o output source`; returns `output`.
fn compile(compiler: &str, flags: &[&str], source: &Path, output: &Path) -> PathBuf {
    run(Command::new(compiler)
        .args(flags)
        .arg("-o")
        .arg(output)
        .arg(source));
    output.to_owned()
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
