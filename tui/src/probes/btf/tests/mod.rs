//! Lookups in this machine's own kernel BTF, where it has one, and files that are not BTF.

mod synthetic;

use super::*;
use std::io::Write;

/// Loads the running kernel's BTF, or None (with a printed reason) if this
/// machine has none.
fn kernel() -> Option<KernelBtf> {
    if !Path::new(VMLINUX_BTF).exists() {
        eprintln!("skipping: {VMLINUX_BTF} does not exist on this machine");
        return None;
    }
    match KernelBtf::load() {
        Ok(btf) => Some(btf),
        Err(e) => panic!("{e}"),
    }
}

/// Every offset the probes need.
const NEEDED: &[(&str, &[&str])] = &[
    ("task_struct", &["tgid"]),
    ("task_struct", &["real_parent"]),
    ("task_struct", &["start_time"]),
    ("task_struct", &["files"]),
    ("task_struct", &["exit_code"]),
    ("files_struct", &["fdt"]),
    ("fdtable", &["fd"]),
    ("fdtable", &["max_fds"]),
    ("file", &["private_data"]),
    ("socket", &["sk"]),
    ("socket", &["type"]),
    ("sock", &["__sk_common", "skc_family"]),
    ("sock", &["__sk_common", "skc_daddr"]),
    ("sock", &["__sk_common", "skc_rcv_saddr"]),
    ("sock", &["__sk_common", "skc_dport"]),
    ("sock", &["__sk_common", "skc_num"]),
    ("sock", &["__sk_common", "skc_v6_daddr"]),
    ("sock", &["__sk_common", "skc_v6_rcv_saddr"]),
    ("tcp_sock", &["bytes_received"]),
    ("tcp_sock", &["bytes_acked"]),
];

// Cross-checked by hand on the development machine (kernel 6.18.44) with
// `bpftool btf dump file /sys/kernel/btf/vmlinux format raw` (bits_offset/8,
// plus the enclosing anonymous union's offset where there is one):
//   task_struct: tgid 1268, real_parent 1280, start_time 1552, files 1824, exit_code 1164
//   files_struct.fdt 32; fdtable: fd 8, max_fds 0; file.private_data 24; socket: sk 24, type 4
//   sock.__sk_common (at 0): skc_family 16, skc_daddr 0, skc_rcv_saddr 4, skc_dport 12,
//     skc_num 14, skc_v6_daddr 56, skc_v6_rcv_saddr 72
//   tcp_sock: bytes_received 1752, bytes_acked 1824
// They differ between kernels, so they are only a comment, not assertions.
#[test]
fn resolves_every_offset_the_probes_need() -> Result<(), BtfError> {
    let Some(btf) = kernel() else { return Ok(()) };
    for (name, path) in NEEDED {
        let offset = btf.member_offset(name, path)?;
        println!("{name}.{} = {offset}", path.join("."));
    }
    Ok(())
}

#[test]
fn nested_offsets_add_up() -> Result<(), BtfError> {
    let Some(btf) = kernel() else { return Ok(()) };
    let common = btf.member_offset("sock", &["__sk_common"])?;
    let common_size = btf.struct_size("sock_common").expect("sock_common exists");
    for field in [
        "skc_family",
        "skc_daddr",
        "skc_rcv_saddr",
        "skc_dport",
        "skc_num",
    ] {
        let inner = btf.member_offset("sock_common", &[field])?;
        assert!(
            inner < common_size,
            "{field} at {inner} outside sock_common ({common_size})"
        );
        assert_eq!(
            btf.member_offset("sock", &["__sk_common", field])?,
            common + inner
        );
    }
    // The address and port pairs are unions with a u64/u32 so they can be
    // compared in one load; their halves are adjacent on every kernel.
    let daddr = btf.member_offset("sock_common", &["skc_daddr"])?;
    assert_eq!(
        btf.member_offset("sock_common", &["skc_rcv_saddr"])?,
        daddr + 4
    );
    let dport = btf.member_offset("sock_common", &["skc_dport"])?;
    assert_eq!(btf.member_offset("sock_common", &["skc_num"])?, dport + 2);
    // tcp_sock embeds sock first, via inet_connection_sock and inet_sock.
    assert_eq!(
        btf.member_offset(
            "tcp_sock",
            &["inet_conn", "icsk_inet", "sk", "__sk_common", "skc_family"]
        )?,
        btf.member_offset("sock_common", &["skc_family"])?
    );
    Ok(())
}

#[test]
fn kernel_lookup_errors_say_what_is_missing() {
    let Some(btf) = kernel() else { return };
    let err = btf
        .member_offset("no_such_struct_xyz", &["a"])
        .expect_err("lookup must fail");
    assert!(matches!(err, BtfError::NoSuchStruct(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "kernel BTF has no struct `no_such_struct_xyz`"
    );

    let err = btf
        .member_offset("tcp_sock", &["no_such_member"])
        .expect_err("lookup must fail");
    assert!(matches!(err, BtfError::NoSuchMember { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("kernel BTF has no member `no_such_member` in struct tcp_sock")
    );

    let err = btf
        .member_offset("sock", &["__sk_common", "nope"])
        .expect_err("lookup must fail");
    assert!(
        err.to_string().contains("`nope` in struct sock_common"),
        "{err}"
    );

    let err = btf
        .member_offset("task_struct", &[])
        .expect_err("lookup must fail");
    assert!(matches!(err, BtfError::EmptyPath(_)), "{err:?}");

    let err = btf
        .member_offset("task_struct", &["tgid", "x"])
        .expect_err("lookup must fail");
    assert!(matches!(err, BtfError::NotAStruct { .. }), "{err:?}");
}

#[test]
fn kernel_bitfield_is_rejected() {
    let Some(btf) = kernel() else { return };
    // Use the first named bitfield of a named struct, as kernels differ in
    // which they have (task_struct.sched_reset_on_fork on 6.18).
    let found = btf.types.iter().enumerate().find_map(|(id, ty)| {
        let Kind::Struct { members, .. } = &ty.kind else {
            return None;
        };
        let name = String::from_utf8_lossy(btf.name(ty.name_off)).into_owned();
        // Skip anonymous structs and shadowed duplicates of a name.
        (btf.structs.get(&name) == Some(&(id as u32))).then_some(())?;
        let m = members
            .iter()
            .find(|m| m.bitfield_size != 0 && !btf.name(m.name_off).is_empty())?;
        Some((
            name,
            String::from_utf8_lossy(btf.name(m.name_off)).into_owned(),
        ))
    });
    let Some((name, member)) = found else {
        eprintln!("skipping: this kernel's BTF has no named bitfield member");
        return;
    };
    let err = btf
        .member_offset(&name, &[&member])
        .expect_err("lookup must fail");
    assert!(
        matches!(err, BtfError::Bitfield { .. }),
        "{name}.{member}: {err:?}"
    );
    println!("{err}");
}

#[test]
fn unreadable_and_garbage_files_are_errors() -> std::io::Result<()> {
    let err =
        KernelBtf::from_path(Path::new("/nonexistent/vmlinux")).expect_err("lookup must fail");
    assert!(matches!(err, BtfError::Unreadable { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("cannot read kernel BTF from /nonexistent/vmlinux")
    );

    let mut garbage = tempfile::NamedTempFile::new()?;
    garbage.write_all(b"this is not BTF at all")?;
    let err = KernelBtf::from_path(garbage.path()).expect_err("lookup must fail");
    assert!(matches!(err, BtfError::Parse { .. }), "{err:?}");

    let empty = tempfile::NamedTempFile::new()?;
    assert!(matches!(
        KernelBtf::from_path(empty.path()),
        Err(BtfError::Parse { .. })
    ));
    Ok(())
}
