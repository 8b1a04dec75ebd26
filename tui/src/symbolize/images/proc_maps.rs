//! The executable file mappings of a running process, read from its `/proc/PID/maps`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::mapping::{Mapping, file_path};

/// The executable file mappings of a /proc/PID/maps text: only lines with 'x' perms and a path
/// starting with '/'; a `" (deleted)"` suffix is stripped. Malformed lines are skipped.
pub fn parse_proc_maps(text: &str) -> Vec<Mapping> {
    // Consecutive segments of one file share one path.
    let mut paths: HashMap<&Path, Arc<Path>> = HashMap::new();
    text.lines()
        .filter_map(parse_maps_line)
        .map(|line| Mapping {
            start: line.start,
            end: line.end,
            pgoff: line.pgoff,
            path: Arc::clone(
                paths
                    .entry(line.path)
                    .or_insert_with(|| Arc::from(line.path)),
            ),
            dev: line.dev,
            inode: line.inode,
        })
        .collect()
}

/// One executable file line of /proc/PID/maps.
struct MapsLine<'a> {
    start: u64,
    end: u64,
    pgoff: u64,
    path: &'a Path,
    dev: (u32, u32),
    inode: u64,
}

/// `address perms offset dev inode pathname`, e.g.
/// `7f1c2a000000-7f1c2a022000 r-xp 00028000 08:01 1234567    /usr/lib/libc.so.6`.
fn parse_maps_line(line: &str) -> Option<MapsLine<'_>> {
    let mut rest = line;
    let range = next_field(&mut rest)?;
    let perms = next_field(&mut rest)?;
    let offset = next_field(&mut rest)?;
    let dev = next_field(&mut rest)?;
    let inode = next_field(&mut rest)?;
    // The path is the rest of the line: it may contain spaces.
    let path = rest.trim_start_matches([' ', '\t']);

    if perms.len() < 3 || perms.as_bytes()[2] != b'x' {
        return None;
    }
    let path = file_path(Path::new(path))?;
    let (start, end) = range.split_once('-')?;
    let start = u64::from_str_radix(start, 16).ok()?;
    let end = u64::from_str_radix(end, 16).ok()?;
    if start >= end {
        return None;
    }
    let (major, minor) = dev.split_once(':')?;
    Some(MapsLine {
        start,
        end,
        pgoff: u64::from_str_radix(offset, 16).ok()?,
        path,
        dev: (
            u32::from_str_radix(major, 16).ok()?,
            u32::from_str_radix(minor, 16).ok()?,
        ),
        inode: inode.parse().ok()?,
    })
}

/// The next space-separated field of `rest`, advancing past it.
fn next_field<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let trimmed = rest.trim_start_matches([' ', '\t']);
    let len = trimmed.find([' ', '\t']).unwrap_or(trimmed.len());
    if len == 0 {
        return None;
    }
    let (field, after) = trimmed.split_at(len);
    *rest = after;
    Some(field)
}

#[cfg(test)]
mod tests;
