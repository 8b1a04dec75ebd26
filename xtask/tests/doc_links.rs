//! The README and the pages under `docs/` link to each other, to the screenshots and to source
//! files. Every such link must land: its file must exist and, when it names a `#anchor` in a
//! markdown file, that file must have a heading whose GitHub slug is the anchor. Links to the
//! web (`http:`, `https:`, `mailto:`) are not followed.
//!
//! Links are read outside fenced code blocks and inline code spans: inline `[text](target)`
//! and images `![alt](src)`, and reference definitions `[label]: target`. Headings are ATX
//! headings (`## Title`), which is all these pages use.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The workspace root: xtask lives one level below it.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| panic!("xtask has a parent directory"))
        .to_path_buf()
}

/// README.md and every markdown file under docs/, in a stable order.
fn doc_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md")];
    let mut pending = vec![root.join("docs")];
    let mut found = Vec::new();
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                found.push(path);
            }
        }
    }
    found.sort();
    files.extend(found);
    files
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A line of a markdown file with its code blocks blanked out: `None` inside a fenced block
/// (fences included), else the line with its inline code spans replaced by spaces.
fn prose_lines(text: &str) -> Vec<Option<String>> {
    let mut fence: Option<(char, usize)> = None;
    let mut lines = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        let opener = trimmed.chars().next().filter(|&c| c == '`' || c == '~');
        let run = opener.map_or(0, |c| trimmed.chars().take_while(|&x| x == c).count());
        match fence {
            Some((c, len)) => {
                if opener == Some(c) && run >= len && trimmed[run..].trim().is_empty() {
                    fence = None;
                }
                lines.push(None);
            }
            None if indent <= 3 && run >= 3 => {
                fence = opener.map(|c| (c, run));
                lines.push(None);
            }
            None => lines.push(Some(without_code_spans(line))),
        }
    }
    lines
}

/// `line` with every inline code span (a run of n backticks up to the next run of exactly n)
/// replaced by spaces; an unmatched run stays as it is.
fn without_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = chars.clone();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&c| c == '`').count();
        let mut j = i + run;
        let mut close = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let other = chars[j..].iter().take_while(|&&c| c == '`').count();
                if other == run {
                    close = Some(j + other);
                    break;
                }
                j += other;
            } else {
                j += 1;
            }
        }
        match close {
            Some(end) => {
                out[i..end].iter_mut().for_each(|c| *c = ' ');
                i = end;
            }
            None => i += run,
        }
    }
    out.into_iter().collect()
}

/// The targets of the inline links and images on a line of prose: what follows each `](` up to
/// its closing parenthesis, without a title and without angle brackets.
fn inline_targets(line: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let mut depth = 0usize;
        let mut end = after.len();
        for (k, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = k;
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        let inside = after[..end].trim();
        let target = if let Some(bracketed) = inside.strip_prefix('<') {
            bracketed.split('>').next().unwrap_or("")
        } else {
            inside.split_whitespace().next().unwrap_or("")
        };
        if !target.is_empty() {
            targets.push(target.to_string());
        }
        rest = &after[end.min(after.len())..];
    }
    targets
}

/// The target of a reference definition, `[label]: target`.
fn definition_target(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    if line.len() - trimmed.len() > 3 || !trimmed.starts_with('[') {
        return None;
    }
    let close = trimmed.find("]:")?;
    let target = trimmed[close + 2..].split_whitespace().next()?;
    Some(
        target
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string(),
    )
}

/// The text of an ATX heading (`## Title ##`), or `None` for any other line.
fn heading_text(line: &str) -> Option<&str> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let level = trimmed.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &trimmed[level..];
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
        return None;
    }
    let rest = rest.trim();
    // A closing run of `#`, when it is set off by a space (or is all there is).
    let without_close = rest.trim_end_matches('#');
    let text = if without_close.is_empty() || without_close.ends_with(' ') {
        without_close
    } else {
        rest
    };
    Some(text.trim())
}

/// A heading's text as GitHub renders it for its slug: a link becomes its text.
fn rendered(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|k| open + k) else {
            break;
        };
        let Some(end) = rest[close..].find(')').map(|k| close + k) else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(&rest[open + 1..close]);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// GitHub's anchor for a heading: lowercase, only alphanumerics, spaces, hyphens and
/// underscores kept, each space a hyphen.
fn slug(text: &str) -> String {
    rendered(text)
        .to_lowercase()
        .chars()
        .filter(|&c| c.is_alphanumeric() || c == ' ' || c == '-' || c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every anchor a markdown file's headings make, duplicates numbered `-1`, `-2`, ... as
/// GitHub numbers them.
fn anchors(text: &str) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut anchors = Vec::new();
    // The original lines, not the prose ones: a heading's code spans are part of its slug.
    for (line, prose) in text.lines().zip(prose_lines(text)) {
        if prose.is_none() {
            continue;
        }
        let Some(heading) = heading_text(line) else {
            continue;
        };
        let base = slug(heading);
        let count = seen.entry(base.clone()).or_insert(0);
        anchors.push(if *count == 0 {
            base.clone()
        } else {
            format!("{base}-{count}")
        });
        *count += 1;
    }
    anchors
}

fn is_external(target: &str) -> bool {
    let lower = target.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:")
}

/// Why `target`, linked from `from`, does not resolve; `None` when it does.
fn dangling(
    root: &Path,
    from: &Path,
    target: &str,
    cache: &mut HashMap<PathBuf, Vec<String>>,
) -> Option<String> {
    let (file, anchor) = match target.split_once('#') {
        Some((file, anchor)) => (file, Some(anchor)),
        None => (target, None),
    };
    let path = if file.is_empty() {
        from.to_path_buf()
    } else if let Some(absolute) = file.strip_prefix('/') {
        root.join(absolute)
    } else {
        from.parent().unwrap_or(root).join(file)
    };
    let shown = path
        .strip_prefix(root)
        .unwrap_or(&path)
        .display()
        .to_string();
    if !path.exists() {
        return Some(format!("no file {shown}"));
    }
    let anchor = anchor?;
    if path.extension().is_none_or(|ext| ext != "md") {
        return None;
    }
    let known = cache
        .entry(path.clone())
        .or_insert_with(|| anchors(&read(&path)));
    if known.iter().any(|a| a == anchor) {
        None
    } else {
        Some(format!("no heading with the anchor #{anchor} in {shown}"))
    }
}

#[test]
fn every_link_between_the_docs_resolves() {
    let root = root();
    let mut cache = HashMap::new();
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in doc_files(&root) {
        let text = read(&file);
        let name = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (number, line) in prose_lines(&text).into_iter().enumerate() {
            let Some(line) = line else { continue };
            let mut targets = inline_targets(&line);
            targets.extend(definition_target(&line));
            for target in targets {
                if is_external(&target) {
                    continue;
                }
                checked += 1;
                if let Some(why) = dangling(&root, &file, &target, &mut cache) {
                    problems.push(format!("{name}:{}: ({target}): {why}", number + 1));
                }
            }
        }
    }
    assert!(
        checked > 0,
        "no links found: is the README where this test looks?"
    );
    assert!(
        problems.is_empty(),
        "{} dangling link(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_readme_stays_short() {
    let lines = read(&root().join("README.md")).lines().count();
    assert!(
        lines <= 450,
        "README.md has {lines} lines, at most 450: details belong in docs/"
    );
}

#[test]
fn slugs_are_githubs() {
    assert_eq!(slug("Record and replay"), "record-and-replay");
    assert_eq!(slug("`ustack_end` values"), "ustack_end-values");
    assert_eq!(slug("Memory and the terminal"), "memory-and-the-terminal");
    assert_eq!(
        slug("Privileges, and what ringside touches"),
        "privileges-and-what-ringside-touches"
    );
    assert_eq!(slug("See [JSON](json.md) here"), "see-json-here");
    assert_eq!(
        anchors("# A\n## A\n```\n# A\n```\n### A ##\n"),
        ["a", "a-1", "a-2"]
    );
    assert_eq!(
        inline_targets("a [b](c.md#d) and ![e](f.png \"t\")"),
        ["c.md#d", "f.png"]
    );
    assert_eq!(without_code_spans("x `[a](b)` y"), "x          y");
}
