//! ringside copes with the machine as it finds it.

mod support;

use std::process::Command;

use support::kernel_tests_enabled;

/// tracefs is not mounted at boot on many machines: ringside mounts it. The test runs in a
/// private mount namespace, so the machine's own mounts are untouched.
#[test]
fn tracefs_is_mounted_when_missing() {
    if !kernel_tests_enabled("tracefs_is_mounted_when_missing") {
        return;
    }
    let ringside = env!("CARGO_BIN_EXE_ringside");
    let script = format!(
        "umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug/tracing 2>/dev/null; \
         if grep -q ' tracefs ' /proc/self/mounts; then echo still-mounted; exit 9; fi; \
         {ringside} --json --duration 1 --events exec --log-file /dev/null > /dev/null && \
         grep -q ' tracefs ' /proc/self/mounts"
    );
    let output = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .expect("unshare (util-linux) runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "status {:?}: {stderr}",
        output.status
    );
    assert!(stderr.contains("ringside: tracing ("), "{stderr}");
}
