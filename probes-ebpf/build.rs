//! aya-build compiles this crate with bpf-linker: rebuild the probes when the linker changes.
fn main() {
    if let Ok(linker) = which::which("bpf-linker") {
        println!("cargo:rerun-if-changed={}", linker.display());
    }
}
