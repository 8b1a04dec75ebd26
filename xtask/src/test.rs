//! `cargo xtask test`: set up, then every check CI runs, in order, stopping at the first failure.

use anyhow::{Context, Result, bail};

use crate::{cmd, dist, setup};

/// One check: what it runs.
struct Step {
    title: &'static str,
    action: Action,
}

enum Action {
    /// A cargo command and the environment it needs.
    Cargo {
        args: &'static [&'static str],
        env: &'static [(&'static str, &'static str)],
    },
    /// Work xtask does itself, and the `cargo xtask` command that repeats it alone.
    Xtask {
        command: &'static str,
        run: fn() -> Result<()>,
    },
}

/// The checks, in order. To add one (a bench smoke, say), add a line here.
///
/// probes-ebpf is excluded from host-side clippy and tests: it only builds for the bpf target,
/// and tui/build.rs compiles it (with bpf-linker) as part of building ringside anyway.
const STEPS: &[Step] = &[
    Step {
        title: "formatting",
        action: Action::Cargo {
            args: &["fmt", "--all", "--", "--check"],
            env: &[],
        },
    },
    Step {
        title: "clippy",
        action: Action::Cargo {
            args: &[
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
    },
    // Before the tests: the fleet's `--install` test runs the static binary.
    Step {
        title: "static binary and package",
        action: Action::Xtask {
            command: "cargo xtask dist",
            run: dist::build_only,
        },
    },
    Step {
        title: "tests, kernel tests required",
        action: Action::Cargo {
            args: &["test", "--workspace", "--exclude", "probes-ebpf"],
            // Kernel tests skip themselves when unprivileged; here a skip must be a failure.
            env: &[("RINGSIDE_KERNEL_TESTS", "require")],
        },
    },
    Step {
        title: "static binary and package checks",
        action: Action::Xtask {
            command: "cargo xtask dist --check",
            run: dist::build_and_check,
        },
    },
];

impl Step {
    /// What a person would type to repeat this step alone.
    fn command_line(&self) -> String {
        match &self.action {
            Action::Cargo { args, env } => {
                let env = env.iter().map(|(k, v)| format!("{k}={v} "));
                format!("{}cargo {}", env.collect::<String>(), args.join(" "))
            }
            Action::Xtask { command, .. } => (*command).to_owned(),
        }
    }

    fn run(&self) -> Result<()> {
        match &self.action {
            Action::Cargo { args, env } => {
                cmd::run(cmd::cargo().args(*args).envs(env.iter().copied()))
            }
            Action::Xtask { run, .. } => run(),
        }
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
        eprintln!(
            "\n==> [{}/{}] {}: {}",
            i + 1,
            STEPS.len(),
            step.title,
            step.command_line()
        );
        step.run()
            .with_context(|| format!("step `{}` failed", step.title))?;
    }
    eprintln!("\n==> all {} steps passed", STEPS.len());
    Ok(())
}
