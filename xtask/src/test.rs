//! `cargo xtask test`: set up, then every check CI runs, in order, stopping at the first failure.

use anyhow::{Context, Result, bail};

use crate::{cmd, setup};

/// One check: a cargo command and the environment it needs.
struct Step {
    title: &'static str,
    cargo_args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

/// The checks, in order. To add one (a bench smoke, say), add a line here.
///
/// probes-ebpf is excluded from host-side clippy and tests: it only builds for the bpf target,
/// and tui/build.rs compiles it (with bpf-linker) as part of building ringside anyway.
const STEPS: &[Step] = &[
    Step {
        title: "formatting",
        cargo_args: &["fmt", "--all", "--", "--check"],
        env: &[],
    },
    Step {
        title: "clippy",
        cargo_args: &[
            "clippy",
            "--workspace",
            "--exclude",
            "probes-ebpf",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        env: &[],
    },
    Step {
        title: "tests, kernel tests required",
        cargo_args: &["test", "--workspace", "--exclude", "probes-ebpf"],
        // Kernel tests skip themselves when unprivileged; here a skip must be a failure.
        env: &[("RINGSIDE_KERNEL_TESTS", "require")],
    },
];

impl Step {
    /// What a person would type to repeat this step alone.
    fn command_line(&self) -> String {
        let env = self.env.iter().map(|(k, v)| format!("{k}={v} "));
        format!(
            "{}cargo {}",
            env.collect::<String>(),
            self.cargo_args.join(" ")
        )
    }
}

pub fn test() -> Result<()> {
    // Fail before minutes of building, not at the first kernel test.
    if !cmd::is_root()? {
        bail!(
            "kernel tests need root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN): \
             run `cargo xtask test` as root"
        );
    }
    setup::setup()?;
    for (i, step) in STEPS.iter().enumerate() {
        let mut cargo = cmd::cargo();
        cargo.args(step.cargo_args).envs(step.env.iter().copied());
        eprintln!(
            "\n==> [{}/{}] {}: {}",
            i + 1,
            STEPS.len(),
            step.title,
            step.command_line()
        );
        cmd::run(&mut cargo).with_context(|| format!("step `{}` failed", step.title))?;
    }
    eprintln!("\n==> all {} steps passed", STEPS.len());
    Ok(())
}
