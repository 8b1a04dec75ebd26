//! Missing privileges get one line that names what is missing, and a non-zero exit.

mod support;

use std::process::Command;

use support::kernel_tests_enabled;

fn run_under_setpriv(setpriv_args: &[&str]) -> (bool, String) {
    let output = Command::new("setpriv")
        .args(setpriv_args)
        .arg(env!("CARGO_BIN_EXE_ringside"))
        .args(["--json", "--duration", "1", "--log-file", "/dev/null"])
        .output()
        .expect("setpriv (util-linux) runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn root_without_bpf_capabilities_is_told_which_are_missing() {
    if !kernel_tests_enabled("root_without_bpf_capabilities_is_told_which_are_missing") {
        return;
    }
    let (ok, stderr) =
        run_under_setpriv(&["--bounding-set=-bpf,-perfmon,-sys_admin", "--inh-caps=-all"]);
    assert!(!ok);
    let lines: Vec<_> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr}");
    assert!(lines[0].contains("CAP_BPF, CAP_PERFMON"), "{stderr}");
    assert!(lines[0].starts_with("ringside: error:"), "{stderr}");
}

#[test]
fn an_unprivileged_user_is_told_to_run_as_root() {
    if !kernel_tests_enabled("an_unprivileged_user_is_told_to_run_as_root") {
        return;
    }
    let (ok, stderr) = run_under_setpriv(&[
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
    ]);
    assert!(!ok);
    assert!(stderr.contains("must run as root"), "{stderr}");
    assert!(stderr.contains("sudo"), "{stderr}");
}
