//! The viewer's side of a fleet, for every mode that shows it (the TUI, `--json`, `record`):
//! the hosts' connections, their events merged in time order as batches, and each host's
//! state as one line.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::link::{HostState, Link, Report};
use super::merge::Merger;
use super::wire::Control;
use super::{FleetRun, HostSpec};
use crate::ingest::Batch;
use crate::model::host::HostId;

/// A host's clock this far from the viewer's is flagged: its events' order against the
/// others' cannot be trusted.
pub const SKEW_WARNING_MS: i64 = 1_000;
/// How long the remotes get to detach their probes and send their last events at the end.
const STOP_PATIENCE: Duration = Duration::from_secs(10);
/// How often held events are looked at for the ones a stalled host held back too long.
const RELEASE_TICK: Duration = Duration::from_millis(25);

/// What the viewer knows of one host.
#[derive(Clone, Debug, PartialEq)]
pub struct HostLine {
    pub host: HostId,
    pub label: String,
    pub state: HostState,
    /// Whether it was ever live.
    pub came_up: bool,
    pub delivered: u64,
    /// Events in the last second.
    pub rate: u64,
    /// Its kernel's drops per event type.
    pub drops: BTreeMap<String, u64>,
    /// Its clock minus the viewer's, in milliseconds, when it last connected.
    pub skew_ms: i64,
    /// The longest an event took from its host's kernel to the viewer in the last second
    /// (its clock's skew taken out), in milliseconds; `None` in a second without events.
    pub lag_ms: Option<u64>,
    /// The last thing it warned about.
    pub warning: Option<String>,
    /// What getting its remote ready last did (`--install`).
    pub note: Option<String>,
}

impl HostLine {
    pub fn dropped(&self) -> u64 {
        self.drops.values().sum()
    }

    pub fn skewed(&self) -> bool {
        self.skew_ms.abs() > SKEW_WARNING_MS
    }
}

/// The hosts being watched.
pub struct FleetView {
    links: Vec<Link>,
    /// Merged events, in batches; closes once every host has stopped.
    batches: Option<mpsc::Receiver<Batch>>,
    /// Every host's line, in the order given.
    pub hosts: watch::Receiver<Vec<HostLine>>,
    forwarder: JoinHandle<()>,
}

impl FleetView {
    pub fn start(hosts: Vec<HostSpec>, run: &FleetRun) -> FleetView {
        let (reports_tx, reports) = mpsc::channel::<Report>(256);
        let mut lines = Vec::with_capacity(hosts.len());
        let mut links = Vec::with_capacity(hosts.len());
        for spec in hosts {
            let host = HostId::intern(&spec.label);
            lines.push(HostLine {
                host,
                label: spec.label.clone(),
                state: HostState::Connecting,
                came_up: false,
                delivered: 0,
                rate: 0,
                drops: BTreeMap::new(),
                skew_ms: 0,
                lag_ms: None,
                warning: None,
                note: None,
            });
            let connect = super::connector(&spec, run);
            links.push(Link::start(host, spec.label, connect, reports_tx.clone()));
        }
        drop(reports_tx);
        let (hosts_tx, hosts_rx) = watch::channel(lines.clone());
        let (batches_tx, batches) = mpsc::channel(64);
        // A host waits for its stacks' symbols up to SYMBOL_WAIT before it flushes: the
        // others' events wait for it that long, not longer.
        let patience = run.max_delay + super::remote::SYMBOL_WAIT + Duration::from_millis(100);
        let forwarder = tokio::spawn(forward(reports, lines, patience, batches_tx, hosts_tx));
        FleetView {
            links,
            batches: Some(batches),
            hosts: hosts_rx,
            forwarder,
        }
    }

    /// The merged events; taken once, by whatever shows them.
    pub fn take_batches(&mut self) -> Option<mpsc::Receiver<Batch>> {
        self.batches.take()
    }

    /// A filter typed in the viewer, to every host's kernel and userspace filter.
    pub fn set_filter(&self, text: &str) {
        let control = Control::SetFilter(text.to_owned());
        for link in &self.links {
            link.send(&control);
        }
    }

    /// Stops every remote (they detach and send what their kernels still held); `batches`
    /// gets those last events, then closes.
    pub fn stop(&mut self) -> JoinHandle<()> {
        let links = std::mem::take(&mut self.links);
        // Every remote is asked at once, and all get one deadline: stopping ten hosts takes
        // as long as the slowest, not the sum.
        for link in &links {
            link.ask_to_stop();
        }
        let deadline = Instant::now() + STOP_PATIENCE;
        tokio::task::spawn_blocking(move || {
            for link in links {
                link.stop(deadline);
            }
        })
    }

    /// Waits until the last report is in.
    pub async fn finished(self) {
        let _ = self.forwarder.await;
    }
}

/// Takes the hosts' reports: events into the merger, out in time order as batches; states
/// into the lines.
async fn forward(
    mut reports: mpsc::Receiver<Report>,
    mut lines: Vec<HostLine>,
    patience: Duration,
    batches: mpsc::Sender<Batch>,
    hosts: watch::Sender<Vec<HostLine>>,
) {
    let mut merger = Merger::new(patience);
    let mut release = tokio::time::interval(RELEASE_TICK);
    release.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut second = Instant::now();
    let mut this_second = BTreeMap::<HostId, Second>::new();
    loop {
        tokio::select! {
            _ = release.tick() => {
                if second.elapsed() >= Duration::from_secs(1) {
                    second = Instant::now();
                    for line in &mut lines {
                        let seen = this_second.remove(&line.host).unwrap_or_default();
                        line.rate = seen.events;
                        line.lag_ms = seen.lag_ms;
                    }
                    hosts.send_replace(lines.clone());
                }
            }
            report = reports.recv() => match report {
                Some(report) => {
                    if let Report::Events(host, events) = &report
                        && let Some(line) = lines.iter().find(|line| line.host == *host)
                    {
                        this_second.entry(*host).or_default().count(events, line.skew_ms);
                    }
                    if note(report, &mut lines, &mut merger) {
                        hosts.send_replace(lines.clone());
                    }
                }
                None => break,
            },
        }
        if !send(&batches, merger.ready(Instant::now())).await {
            return;
        }
    }
    send(&batches, merger.rest()).await;
    hosts.send_replace(lines);
}

/// What a host delivered in the current second.
#[derive(Default)]
struct Second {
    events: u64,
    lag_ms: Option<u64>,
}

impl Second {
    fn count(&mut self, events: &[crate::model::Event], skew_ms: i64) {
        self.events += events.len() as u64;
        let Some(oldest) = events.iter().map(|event| event.time).min() else {
            return;
        };
        // Its age by the host's clock, which runs `skew_ms` ahead of this one.
        let age_ms = match SystemTime::now().duration_since(oldest) {
            Ok(age) => age.as_millis() as i128,
            Err(ahead) => -(ahead.duration().as_millis() as i128),
        };
        let lag = u64::try_from((age_ms + i128::from(skew_ms)).max(0)).unwrap_or(u64::MAX);
        self.lag_ms = Some(self.lag_ms.map_or(lag, |most| most.max(lag)));
    }
}

/// `false` once nobody takes batches.
async fn send(batches: &mpsc::Sender<Batch>, events: Vec<crate::model::Event>) -> bool {
    if events.is_empty() {
        return true;
    }
    let batch = Batch {
        events,
        ..Batch::default()
    };
    batches.send(batch).await.is_ok()
}

/// Takes in a report; `true` when a host's line changed in a way worth showing at once.
fn note(report: Report, lines: &mut [HostLine], merger: &mut Merger) -> bool {
    let line = |host: HostId, lines: &mut [HostLine]| -> Option<usize> {
        lines.iter().position(|line| line.host == host)
    };
    match report {
        Report::Events(host, events) => {
            if let Some(at) = line(host, lines) {
                lines[at].delivered += events.len() as u64;
            }
            merger.push(events, Instant::now());
            false
        }
        Report::Drops(host, drops) => {
            if let Some(at) = line(host, lines) {
                lines[at].drops = drops;
            }
            false
        }
        Report::State(host, state) => {
            let Some(at) = line(host, lines) else {
                return false;
            };
            if state == HostState::Live {
                merger.live(host);
            } else {
                // Gone or not there yet: it holds no one back.
                merger.gone(host);
            }
            lines[at].came_up |= state == HostState::Live;
            lines[at].state = state;
            true
        }
        Report::ClockSkew(host, skew_ms) => {
            if let Some(at) = line(host, lines) {
                lines[at].skew_ms = skew_ms;
            }
            true
        }
        Report::Warning(host, text) => {
            if let Some(at) = line(host, lines) {
                lines[at].warning = Some(text);
            }
            true
        }
        Report::Watermark(host, through) => {
            merger.advance(host, through);
            false
        }
        Report::Note(host, text) => {
            if let Some(at) = line(host, lines) {
                lines[at].note = Some(text);
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample;

    /// A host whose clock runs a second ahead: its event, stamped 700 ms "in the future",
    /// is 300 ms old here.
    #[test]
    fn lag_takes_the_hosts_clock_skew_out() {
        let mut event = sample::event(sample::open("/etc/hostname", 3));
        event.time = SystemTime::now() + Duration::from_millis(700);
        let mut second = Second::default();
        second.count(&[event], 1_000);
        let lag = second.lag_ms.expect("a lag");
        assert!((300..400).contains(&lag), "lag {lag} ms");
        assert_eq!(second.events, 1);
    }
}
