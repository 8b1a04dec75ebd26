//! The images of one pid over time: each program run, when it began and when it ended.

use std::sync::Arc;

use super::mapping::Mapping;

/// `until` of an image that has not ended yet.
pub(super) const OPEN: u64 = u64::MAX;

/// The address space of one program run of a process, valid for times `[since, until)`.
#[derive(Debug)]
pub(super) struct Image {
    pub(super) since: u64,
    /// Exclusive; [`OPEN`] while the image is current.
    pub(super) until: u64,
    /// Sorted by `start`, never overlapping. Shared with forked children until one side maps.
    pub(super) mappings: Arc<Vec<Mapping>>,
}

impl Image {
    pub(super) fn new(since: u64, mappings: Arc<Vec<Mapping>>) -> Self {
        Image {
            since,
            until: OPEN,
            mappings,
        }
    }

    fn covers(&self, time_ns: u64) -> bool {
        self.since <= time_ns && time_ns < self.until
    }

    pub(super) fn find(&self, addr: u64) -> Option<&Mapping> {
        let index = self.mappings.partition_point(|m| m.start <= addr);
        let mapping = self.mappings.get(index.checked_sub(1)?)?;
        mapping.contains(addr).then_some(mapping)
    }
}

/// The images of one pid, in time order, never overlapping. Several processes may appear in
/// turn when the pid is reused.
#[derive(Debug, Default)]
pub(super) struct History {
    pub(super) images: Vec<Image>,
}

impl History {
    /// Index of the image covering `time_ns`.
    pub(super) fn covering(&self, time_ns: u64) -> Option<usize> {
        let index = self
            .images
            .partition_point(|image| image.since <= time_ns)
            .checked_sub(1)?;
        self.images[index].covers(time_ns).then_some(index)
    }

    /// Ends the current image (if any) at `since` and starts a new one there.
    pub(super) fn start_image(&mut self, since: u64, mappings: Arc<Vec<Mapping>>) {
        // Records come in time order; if one does not, keep the history ordered anyway.
        let since = self
            .images
            .last()
            .map_or(since, |last| since.max(last.since));
        if let Some(last) = self.images.last_mut() {
            last.until = last.until.min(since);
            if last.until == last.since {
                self.images.pop();
            }
        }
        self.images.push(Image::new(since, mappings));
    }

    /// The process was forked at `since` with `mappings`. Its fork record can come after its
    /// exec and mmap records: the perf rings are per CPU, and one can be read before the
    /// parent writes the fork into it while another is read after the child already exec'd.
    /// Images already known from after the fork are then this process's own and are kept; the
    /// fork's image covers only the time up to them. An image from before the fork belonged to
    /// an earlier process with this pid and ends at the fork.
    pub(super) fn start_forked(&mut self, since: u64, mappings: Arc<Vec<Mapping>>) {
        let later = self.images.partition_point(|image| image.since <= since);
        let Some(next) = self.images.get(later) else {
            self.start_image(since, mappings);
            return;
        };
        let until = next.since;
        let mut at = later;
        if let Some(previous) = later.checked_sub(1) {
            let image = &mut self.images[previous];
            image.until = image.until.min(since);
            if image.until <= image.since {
                self.images.remove(previous);
                at = previous;
            }
        }
        self.images.insert(
            at,
            Image {
                since,
                until,
                mappings,
            },
        );
    }

    /// Ends the current image so that it still covers `time_ns`.
    pub(super) fn exit(&mut self, time_ns: u64) {
        let Some(last) = self.images.last_mut() else {
            return;
        };
        if last.until != OPEN {
            return;
        }
        last.until = time_ns.saturating_add(1).max(last.since);
        if last.until == last.since {
            self.images.pop();
        }
    }

    /// The image a mapping created at `time_ns` belongs to, creating one if the process was not
    /// seen being created.
    pub(super) fn image_for_mmap(&mut self, time_ns: u64) -> Option<&mut Image> {
        if let Some(index) = self.covering(time_ns) {
            return Some(&mut self.images[index]);
        }
        match self.images.last() {
            // Never seen: the process existed before we started watching.
            None => self.images.push(Image::new(0, Arc::default())),
            // The pid was reused without its fork being seen (lost records): a new process
            // began somewhere after the previous one exited.
            Some(last) if time_ns >= last.until => {
                let since = last.until;
                self.images.push(Image::new(since, Arc::default()));
            }
            // Before the first image we know of: nowhere to put it.
            Some(_) => return None,
        }
        self.images.last_mut()
    }
}
