//! Stacks as a whole, for the profilers people use: folded stacks on stdout (`--folded`), an
//! SVG flame graph (`--flamegraph`, drawn by inferno) and a pprof profile (`--pprof`). Each
//! takes the events that pass `--filter`, live (until `--duration` or Ctrl-C) or from a replay.

mod folded;
mod frames;
pub mod pprof;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::headless::output::Output;
use crate::model::Event;
use folded::Folded;
use pprof::PprofBuilder;

/// Which exports were asked for.
#[derive(Clone, Debug, Default)]
pub struct Exports {
    pub folded: bool,
    pub flamegraph: Option<PathBuf>,
    pub pprof: Option<PathBuf>,
}

impl Exports {
    pub fn any(&self) -> bool {
        self.folded || self.flamegraph.is_some() || self.pprof.is_some()
    }
}

/// Collects events, and writes every export asked for at the end.
pub struct StackExport {
    wanted: Exports,
    folded: Folded,
    pprof: Option<PprofBuilder>,
    events: u64,
}

impl StackExport {
    pub fn new(wanted: Exports) -> Self {
        let pprof = wanted.pprof.is_some().then(PprofBuilder::new);
        Self {
            wanted,
            folded: Folded::default(),
            pprof,
            events: 0,
        }
    }

    fn write_all(&mut self) -> anyhow::Result<()> {
        if let Some(path) = &self.wanted.flamegraph {
            let svg = flamegraph_svg(&self.folded)?;
            std::fs::write(path, svg)
                .with_context(|| format!("writing the flame graph to {}", path.display()))?;
        }
        if let (Some(path), Some(builder)) = (&self.wanted.pprof, self.pprof.take()) {
            let bytes = builder.finish().context("compressing the pprof profile")?;
            std::fs::write(path, bytes)
                .with_context(|| format!("writing the pprof profile to {}", path.display()))?;
        }
        eprintln!("ringside: exported the stacks of {} events", self.events);
        if self.wanted.folded {
            self.print_folded()?;
        }
        Ok(())
    }

    /// The folded lines on stdout; a reader that stops early (`| head`) ends it quietly.
    fn print_folded(&self) -> anyhow::Result<()> {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let written = self
            .folded
            .lines()
            .try_for_each(|line| writeln!(out, "{line}"))
            .and_then(|()| out.flush());
        match written {
            Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(error).context("writing folded stacks to stdout")
            }
            _ => Ok(()),
        }
    }
}

/// The folded stacks drawn as an SVG flame graph.
pub fn flamegraph_svg(folded: &Folded) -> anyhow::Result<Vec<u8>> {
    let lines: Vec<String> = folded.lines().collect();
    let mut options = inferno::flamegraph::Options::default();
    options.title = "ringside: events by stack".to_owned();
    options.count_name = "events".to_owned();
    let mut svg = Vec::new();
    if lines.is_empty() {
        // inferno refuses an empty input; an empty graph still says what happened.
        options.title = "ringside: no events".to_owned();
        inferno::flamegraph::from_lines(&mut options, ["none 1"].iter().copied(), &mut svg)
    } else {
        inferno::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut svg)
    }
    .context("drawing the flame graph")?;
    Ok(svg)
}

impl Output for StackExport {
    fn write(&mut self, event: &Event) -> anyhow::Result<bool> {
        self.events += 1;
        self.folded.add(event);
        if let Some(pprof) = &mut self.pprof {
            pprof.add(event);
        }
        Ok(true)
    }

    fn flush(&mut self) -> anyhow::Result<bool> {
        Ok(true)
    }

    fn finish(&mut self, _drops: BTreeMap<String, u64>) -> anyhow::Result<()> {
        self.write_all()
    }
}
