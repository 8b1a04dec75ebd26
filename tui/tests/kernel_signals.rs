//! Kernel tests for "who killed it": signals between processes and from the kernel, and an OOM
//! kill inside a memory cgroup the test makes, read back from `ringside --json`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use support::stacks::symbols;
use support::{Ringside, field, is_type, kernel_tests_enabled, nonce, wait_for_exit};

fn my_pid() -> u64 {
    u64::from(std::process::id())
}

/// The function whose frame the sender's stack must show.
#[inline(never)]
fn send_the_signal(pid: u32, signal: i32) {
    // SAFETY: kill(2) with a pid this test spawned; it only sends a signal.
    let sent = unsafe { libc::kill(pid as libc::pid_t, signal) };
    assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
    std::hint::black_box(());
}

#[test]
fn a_kill_names_its_sender_its_target_and_the_sender_s_stack() {
    if !kernel_tests_enabled("a_kill_names_its_sender_its_target_and_the_sender_s_stack") {
        return;
    }
    let ringside = Ringside::start(&["--events", "signal,exit"]);
    let mut victim = Command::new("sleep").arg("60").spawn().expect("sleep");
    let victim_pid = victim.id();
    // spawn returns as the child's exec takes its new memory, a moment before it takes its
    // new name: the target's name is read when the signal is sent.
    let comm = format!("/proc/{victim_pid}/comm");
    while std::fs::read_to_string(&comm).is_ok_and(|name| name.trim() != "sleep") {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    send_the_signal(victim_pid, libc::SIGTERM);
    let status = wait_for_exit(&mut victim, "the signalled sleep");
    assert!(!status.success());

    let kill = ringside.wait_for("the SIGTERM", |e| {
        is_type(e, "signal") && e["target_pid"] == u64::from(victim_pid) && e["sig"] == "SIGTERM"
    });
    assert_eq!(
        field(&kill, "pid"),
        my_pid(),
        "the sender is this test: {kill}"
    );
    assert_eq!(field(&kill, "signo"), 15);
    assert_eq!(field(&kill, "target_comm"), "sleep");
    assert_eq!(field(&kill, "code"), "SI_USER");
    assert_eq!(field(&kill, "group"), "process");
    assert_eq!(field(&kill, "result"), "delivered");
    let user = symbols(field(&kill, "ustack"));
    assert!(
        user.iter().any(|symbol| symbol.contains("send_the_signal")),
        "the sender's stack names the test's function: {user:?}"
    );
    let kernel = symbols(field(&kill, "kstack"));
    assert!(
        kernel.iter().any(|symbol| symbol.contains("kill")),
        "the kernel stack goes through kill: {kernel:?}"
    );

    // The exit says so without the signal event.
    let exit = ringside.wait_for("the sleep's exit", |e| {
        is_type(e, "exit") && e["pid"] == u64::from(victim_pid)
    });
    assert_eq!(field(&exit, "signal"), "SIGTERM", "{exit}");

    // The kernel's own notice to this test that its child died is an event too, marked. It
    // goes to the thread that spawned the child.
    // SAFETY: gettid takes nothing and cannot fail.
    let spawner = u64::from(unsafe { libc::gettid() } as u32);
    let notice = ringside.wait_for("the SIGCHLD to this test", |e| {
        is_type(e, "signal") && e["sig"] == "SIGCHLD" && e["target_pid"] == spawner
    });
    assert_eq!(field(&notice, "pid"), u64::from(victim_pid), "{notice}");
    assert_eq!(field(&notice, "code"), "CLD_KILLED", "{notice}");
    assert_eq!(field(&notice, "routine"), true, "{notice}");
    assert!(ringside.stop().success);
}

#[test]
fn a_fault_s_sigsegv_is_raised_by_the_kernel_in_the_faulting_process() {
    if !kernel_tests_enabled("a_fault_s_sigsegv_is_raised_by_the_kernel_in_the_faulting_process") {
        return;
    }
    let ringside = Ringside::start(&["--events", "signal,exit", "--filter", "sig=SIGSEGV"]);
    // A shell that writes through a null pointer is hard to find; the nested fixture is C.
    let program = std::env::temp_dir().join(format!("ringside-segv-{}", nonce()));
    compile_segfaulter(&program);
    let mut child = Command::new(&program).spawn().expect("segfaulter");
    let pid = u64::from(child.id());
    let status = wait_for_exit(&mut child, "the segfaulter");
    assert!(!status.success());
    let _ = std::fs::remove_file(&program);

    let segv = ringside.wait_for("the SIGSEGV", |e| is_type(e, "signal") && e["pid"] == pid);
    assert_eq!(field(&segv, "target_pid"), pid, "{segv}");
    assert_eq!(field(&segv, "code"), "SEGV_MAPERR", "{segv}");
    assert!(segv.get("routine").is_none(), "{segv}");
    let user = symbols(field(&segv, "ustack"));
    assert!(
        user.iter()
            .any(|symbol| symbol.contains("write_through_null")),
        "the faulting function: {user:?}"
    );
    let exit = ringside.wait_for("its exit", |e| is_type(e, "exit") && e["pid"] == pid);
    assert_eq!(field(&exit, "signal"), "SIGSEGV", "{exit}");
    // The filter passed only what `sig=SIGSEGV` names: no SIGCHLD, nothing else.
    let finished = ringside.stop();
    assert!(
        finished
            .events
            .iter()
            .all(|e| e["sig"] == "SIGSEGV" || e["signal"] == "SIGSEGV"),
        "sig=SIGSEGV let others through: {:?}",
        finished.events
    );
}

fn compile_segfaulter(output: &Path) {
    let source = output.with_extension("c");
    std::fs::write(
        &source,
        "__attribute__((noinline)) void write_through_null(volatile int *p) { *p = 1; }\n\
         int main(void) { write_through_null(0); return 0; }\n",
    )
    .expect("write source");
    let status = Command::new("cc")
        .args(["-O0", "-g", "-fno-omit-frame-pointer", "-o"])
        .arg(output)
        .arg(&source)
        .status()
        .expect("cc");
    assert!(status.success());
    let _ = std::fs::remove_file(&source);
}

/// A memory cgroup of the test's own with a small limit, v1 or v2 as the machine has it;
/// removed when dropped.
struct SmallMemcg {
    dir: PathBuf,
    /// Its path as the kernel names it in its hierarchy.
    name: String,
}

impl SmallMemcg {
    const LIMIT: u64 = 48 << 20;

    fn new() -> SmallMemcg {
        let name = format!("ringside-oom-{}", nonce());
        let v1 = Path::new("/sys/fs/cgroup/memory");
        let v2 = [
            Path::new("/sys/fs/cgroup/unified"),
            Path::new("/sys/fs/cgroup"),
        ]
        .into_iter()
        .find(|root| {
            std::fs::read_to_string(root.join("cgroup.controllers"))
                .is_ok_and(|controllers| controllers.split_whitespace().any(|c| c == "memory"))
        });
        let memcg = if v1.join("memory.limit_in_bytes").exists() {
            let dir = v1.join(&name);
            std::fs::create_dir(&dir).expect("mkdir memory cgroup (v1)");
            write(&dir.join("memory.limit_in_bytes"), &Self::LIMIT.to_string());
            SmallMemcg { dir, name }
        } else {
            let root = v2.expect("a memory controller, v1 or v2");
            enable_memory_controller(root);
            let dir = root.join(&name);
            std::fs::create_dir(&dir).expect("mkdir memory cgroup (v2)");
            write(&dir.join("memory.max"), &Self::LIMIT.to_string());
            let _ = std::fs::write(dir.join("memory.swap.max"), "0");
            SmallMemcg { dir, name }
        };
        // Without swap the limit is hit at once; with it, keep the hog out of swap.
        let _ = std::fs::write(memcg.dir.join("memory.swappiness"), "0");
        memcg
    }
}

fn enable_memory_controller(root: &Path) {
    let _ = std::fs::write(root.join("cgroup.subtree_control"), "+memory");
}

fn write(path: &Path, value: &str) {
    std::fs::write(path, value).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

impl Drop for SmallMemcg {
    fn drop(&mut self) {
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

#[test]
fn an_oom_kill_in_a_small_memory_cgroup_names_victim_limit_and_allocation() {
    if !kernel_tests_enabled(
        "an_oom_kill_in_a_small_memory_cgroup_names_victim_limit_and_allocation",
    ) {
        return;
    }
    let hog = &support::fixtures::fixtures().hog;
    let memcg = SmallMemcg::new();
    let ringside = Ringside::start(&["--events", "oom_kill,exit"]);
    let mut child = Command::new(hog)
        .arg(memcg.dir.join("cgroup.procs"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("hog");
    let pid = u64::from(child.id());
    let status = wait_for_exit(&mut child, "the hog");
    assert!(!status.success(), "the hog was not killed");

    let oom: Value = ringside.wait_for("the OOM kill", |e| {
        is_type(e, "oom_kill") && e["victim_pid"] == pid
    });
    // The hog allocated and was chosen: it is both the trigger and the victim.
    assert_eq!(field(&oom, "pid"), pid, "{oom}");
    assert_eq!(field(&oom, "victim_comm"), "hog");
    assert_eq!(field(&oom, "victim_uid"), 0);
    let anon = field(&oom, "anon_rss").as_u64().expect("anon_rss");
    assert!(
        anon > SmallMemcg::LIMIT / 2 && anon <= SmallMemcg::LIMIT + (1 << 20),
        "anon_rss {anon} near the {} limit: {oom}",
        SmallMemcg::LIMIT
    );
    assert!(field(&oom, "total_vm").as_u64().expect("total_vm") >= anon);
    assert_eq!(field(&oom, "oom_score_adj"), 0);
    assert_eq!(field(&oom, "memcg"), &format!("/{}", memcg.name), "{oom}");
    let user = symbols(field(&oom, "ustack"));
    assert!(
        user.iter()
            .any(|symbol| symbol.contains("grow_until_killed")),
        "the allocating function: {user:?}"
    );
    let kernel = symbols(field(&oom, "kstack"));
    assert!(
        kernel.iter().any(|symbol| symbol.contains("out_of_memory")),
        "the kernel stack goes through the OOM killer: {kernel:?}"
    );
    let exit = ringside.wait_for("the hog's exit", |e| is_type(e, "exit") && e["pid"] == pid);
    assert_eq!(field(&exit, "signal"), "SIGKILL", "{exit}");
    assert!(ringside.stop().success);
}
