//! The README's lists against the code's own: the event kinds against the kind catalogue, the
//! filter fields against the filter's field table, the keys against the bindings table, the
//! flags against the command line. A list that drifts fails here, not in a user's hands.

use std::collections::BTreeSet;

use clap::CommandFactory as _;

use crate::app::bindings::BINDINGS;
use crate::cli::Cli;
use crate::model::EventKind;

const README: &str = include_str!("../../README.md");

/// The lines of the section under `heading` (a whole heading line), up to the next heading.
fn section(heading: &str) -> Vec<&'static str> {
    let mut lines = README.lines().skip_while(|line| *line != heading);
    assert!(lines.next().is_some(), "README.md has no `{heading}`");
    lines.take_while(|line| !line.starts_with('#')).collect()
}

/// The first cells of a markdown table's rows, header and rule left out.
fn first_cells(lines: &[&'static str]) -> Vec<&'static str> {
    lines
        .iter()
        .filter(|line| line.starts_with('|'))
        .skip(2)
        .filter_map(|line| line.split('|').nth(1))
        .map(str::trim)
        .collect()
}

/// The words in backticks in `text`.
fn quoted(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_readme_lists_every_event_kind_and_no_other() {
    let listed: BTreeSet<String> = first_cells(&section("## Event kinds"))
        .iter()
        .flat_map(|cell| quoted(cell))
        .collect();
    let catalogue: BTreeSet<String> = EventKind::ALL.iter().map(|k| k.name().into()).collect();
    assert_eq!(
        listed, catalogue,
        "README.md's Event kinds against EventKind::ALL"
    );
}

#[test]
fn the_readme_lists_every_filter_field_and_no_other() {
    let listed: BTreeSet<String> = first_cells(&section("### Filter fields"))
        .iter()
        .flat_map(|cell| quoted(cell))
        .collect();
    let fields: BTreeSet<String> = crate::filter::field_names().map(str::to_owned).collect();
    assert_eq!(
        listed, fields,
        "README.md's Filter fields against the filter's table"
    );
}

/// Every key of the bindings table is in the README's Keys table, and every key there is one
/// the TUI answers to.
#[test]
fn the_readme_keys_are_the_bindings() {
    let listed: BTreeSet<String> = first_cells(&section("## Keys"))
        .iter()
        .flat_map(|cell| cell.split([' ', ',']))
        .map(|token| token.trim_matches('`').to_owned())
        .filter(|token| !token.is_empty())
        .collect();
    let bound: BTreeSet<String> = BINDINGS
        .iter()
        .flat_map(|binding| binding.keys.iter().map(|key| key.label()))
        .collect();
    let missing: Vec<_> = bound.difference(&listed).collect();
    let unknown: Vec<_> = listed.difference(&bound).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "README.md's Keys lack {missing:?} and list keys the TUI does not have: {unknown:?}"
    );
}

/// The flags the README shows exist, on ringside or one of its subcommands.
#[test]
fn the_readme_flags_exist() {
    let command = Cli::command();
    let mut known: BTreeSet<String> = command
        .get_arguments()
        .filter_map(|arg| arg.get_long().map(str::to_owned))
        .collect();
    for sub in command.get_subcommands() {
        known.extend(
            sub.get_arguments()
                .filter_map(|a| a.get_long().map(str::to_owned)),
        );
    }
    known.extend(["help".to_owned(), "version".to_owned()]);
    let flags = section("## Flags people use");
    let unknown: BTreeSet<String> = flags
        .iter()
        .flat_map(|line| line.split(|c: char| c.is_whitespace() || "`|,".contains(c)))
        .filter_map(|word| word.strip_prefix("--"))
        .map(|flag| {
            flag.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .filter(|flag| flag.starts_with(|c: char| c.is_ascii_lowercase()))
        .filter(|flag| !known.contains(flag))
        .collect();
    assert!(
        unknown.is_empty(),
        "README.md shows flags ringside lacks: {unknown:?}"
    );
}
