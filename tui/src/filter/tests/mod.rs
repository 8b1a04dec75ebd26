//! Table tests for each stage, a soundness property for the kernel part, and a fuzz run
//! showing that no input makes the parser panic.

mod eval;
mod fuzz;
mod kernel;
mod parse;
mod support;
