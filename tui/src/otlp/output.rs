//! The exporter as a headless output: every event handed over, the exporter's troubles said
//! on stderr as they change, its counts at the end.

use std::collections::BTreeMap;

use super::{Exporter, OtlpCounts};
use crate::headless::output::Output;
use crate::model::Event;

pub struct OtlpOutput {
    exporter: Option<Exporter>,
    /// The problem last said on stderr.
    said: Option<String>,
    finished: Option<OtlpCounts>,
}

impl OtlpOutput {
    pub fn new(exporter: Exporter) -> Self {
        eprintln!("ringside: exporting to {} ({})", exporter.url, exporter.how);
        Self {
            exporter: Some(exporter),
            said: None,
            finished: None,
        }
    }
}

impl Output for OtlpOutput {
    fn write(&mut self, event: &Event) -> anyhow::Result<bool> {
        if let Some(exporter) = &self.exporter {
            exporter.export(event);
        }
        Ok(true)
    }

    fn flush(&mut self) -> anyhow::Result<bool> {
        Ok(true)
    }

    fn every_second(&mut self, _drops: BTreeMap<String, u64>) -> anyhow::Result<()> {
        let Some(exporter) = &self.exporter else {
            return Ok(());
        };
        let problem = exporter.stats().problem();
        if problem != self.said {
            match &problem {
                Some(problem) => eprintln!("ringside: otlp: {problem}"),
                None => eprintln!("ringside: otlp: delivering to {}", exporter.url),
            }
            self.said = problem;
        }
        Ok(())
    }

    fn finish(&mut self, _drops: BTreeMap<String, u64>) -> anyhow::Result<()> {
        if let Some(exporter) = self.exporter.take() {
            let counts = exporter.finish();
            eprintln!("ringside: otlp {counts}");
            self.finished = Some(counts);
        }
        Ok(())
    }

    fn otlp(&self) -> Option<OtlpCounts> {
        self.finished
    }
}
