//! Assertions on the `ustack` / `kstack` arrays of ringside's JSON events.

use serde_json::Value;

use super::fixtures::tagged_line;

/// The symbols of a stack's frames, innermost first ("?" where a frame has none).
pub fn symbols(stack: &Value) -> Vec<String> {
    frames(stack)
        .iter()
        .map(|frame| frame["symbol"].as_str().unwrap_or("?").to_owned())
        .collect()
}

pub fn frames(stack: &Value) -> &Vec<Value> {
    stack
        .as_array()
        .unwrap_or_else(|| panic!("not a stack: {stack}"))
}

/// Asserts the first frames are `chain` in order: each `(name, tag)` is a frame whose symbol
/// contains `name`, in `file` at the line tagged `LINE:tag`.
pub fn assert_chain(stack: &Value, file: &str, chain: &[(&str, &str)]) {
    assert_chain_from(stack, 0, file, chain);
}

/// As [`assert_chain`], with the chain starting at frame `first`.
pub fn assert_chain_from(stack: &Value, first: usize, file: &str, chain: &[(&str, &str)]) {
    let frames = frames(stack);
    for (offset, (name, tag)) in chain.iter().enumerate() {
        let index = first + offset;
        let frame = frames
            .get(index)
            .unwrap_or_else(|| panic!("frame {index} missing: {stack}"));
        let symbol = frame["symbol"].as_str().unwrap_or_default();
        assert!(
            symbol.contains(name),
            "frame {index} is {symbol}, expected {name}: {stack}"
        );
        let at = frame["file"].as_str().unwrap_or_default();
        assert!(
            at.ends_with(file),
            "frame {index} in {at}, expected {file}: {frame}"
        );
        assert_eq!(
            frame["line"],
            tagged_line(file, tag),
            "frame {index} line: {frame}"
        );
        assert!(frame.get("unresolved").is_none(), "{frame}");
    }
}
