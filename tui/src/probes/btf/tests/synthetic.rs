//! Small BTF files built by hand: the tricky cases, the same on every kernel.

use super::*;

/// Builds small BTF blobs by hand, so the tricky cases are tested the same
/// way on every kernel.
#[derive(Default)]
struct Builder {
    types: Vec<u32>,
    strings: Vec<u8>,
    count: u32,
}

impl Builder {
    fn new() -> Self {
        Builder {
            strings: vec![0],
            ..Default::default()
        }
    }

    fn name(&mut self, name: &str) -> u32 {
        if name.is_empty() {
            return 0;
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(name.as_bytes());
        self.strings.push(0);
        off
    }

    fn add(
        &mut self,
        name: &str,
        kind: u32,
        kind_flag: bool,
        vlen: u32,
        size_or_type: u32,
        extra: &[u32],
    ) -> u32 {
        let name = self.name(name);
        let info = (u32::from(kind_flag) << 31) | (kind << 24) | vlen;
        self.types.extend([name, info, size_or_type]);
        self.types.extend_from_slice(extra);
        self.count += 1;
        self.count
    }

    fn int(&mut self, name: &str, size: u32) -> u32 {
        self.add(name, 1, false, 0, size, &[size * 8])
    }

    /// members: (name, type, bit offset, bitfield width).
    fn composite(
        &mut self,
        kind: u32,
        name: &str,
        size: u32,
        members: &[(&str, u32, u32, u32)],
    ) -> u32 {
        let kind_flag = members.iter().any(|m| m.3 != 0);
        let mut extra = vec![];
        for &(member, ty, bit_offset, width) in members {
            extra.extend([self.name(member), ty, (width << 24) | bit_offset]);
        }
        self.add(name, kind, kind_flag, members.len() as u32, size, &extra)
    }

    fn bytes(&self) -> Vec<u8> {
        let type_len = self.types.len() as u32 * 4;
        let header = [24, 0, type_len, type_len, self.strings.len() as u32];
        let mut out = vec![0x9f, 0xeb, 1, 0];
        for word in header.iter().chain(&self.types) {
            out.extend(word.to_le_bytes());
        }
        out.extend(&self.strings);
        out
    }

    fn load(&self) -> Result<KernelBtf, BtfError> {
        let mut file = tempfile::NamedTempFile::new().map_err(|source| BtfError::Unreadable {
            path: PathBuf::new(),
            source,
        })?;
        file.write_all(&self.bytes())
            .map_err(|source| BtfError::Unreadable {
                path: file.path().to_owned(),
                source,
            })?;
        KernelBtf::from_path(file.path())
    }
}

/// struct inner { int pad; int deep; };
/// typedef const struct inner inner_t;
/// struct outer {
///     int a;
///     union { struct { int x; int y; }; long z; };   // at 4
///     volatile inner_t in;                            // at 12
///     int flag : 3;                                   // at 20
///     short narrow;                                   // old-style bitfield: int of 5 bits
/// };
fn sample() -> Builder {
    let mut b = Builder::new();
    let int = b.int("int", 4);
    let long = b.int("long", 8);
    let inner = b.composite(4, "inner", 8, &[("pad", int, 0, 0), ("deep", int, 32, 0)]);
    let konst = b.add("", 10, false, 0, inner, &[]);
    let typedef = b.add("inner_t", 8, false, 0, konst, &[]);
    let volatile = b.add("", 9, false, 0, typedef, &[]);
    let anon_struct = b.composite(4, "", 8, &[("x", int, 0, 0), ("y", int, 32, 0)]);
    let anon_union = b.composite(5, "", 8, &[("", anon_struct, 0, 0), ("z", long, 0, 0)]);
    let narrow = b.add("narrow_int", 1, false, 0, 2, &[5]);
    b.composite(
        4,
        "outer",
        24,
        &[
            ("a", int, 0, 0),
            ("", anon_union, 32, 0),
            ("in", volatile, 96, 0),
            ("flag", int, 160, 3),
            ("narrow", narrow, 176, 0),
        ],
    );
    b
}

#[test]
fn synthetic_anonymous_members_typedefs_and_bitfields() -> Result<(), BtfError> {
    let btf = sample().load()?;
    assert_eq!(btf.member_offset("outer", &["a"])?, 0);
    assert_eq!(btf.member_offset("outer", &["x"])?, 4);
    assert_eq!(btf.member_offset("outer", &["y"])?, 8);
    assert_eq!(btf.member_offset("outer", &["z"])?, 4);
    assert_eq!(btf.member_offset("outer", &["in"])?, 12);
    assert_eq!(btf.member_offset("outer", &["in", "deep"])?, 16);
    assert_eq!(btf.member_offset("inner", &["deep"])?, 4);
    for bitfield in ["flag", "narrow"] {
        let err = btf
            .member_offset("outer", &[bitfield])
            .expect_err("lookup must fail");
        assert_eq!(
            err.to_string(),
            format!("member `outer.{bitfield}` is a bitfield, which has no byte offset")
        );
    }
    let err = btf
        .member_offset("outer", &["in", "missing"])
        .expect_err("lookup must fail");
    assert_eq!(
        err.to_string(),
        "kernel BTF has no member `missing` in struct inner (looking up `outer.in.missing`)"
    );
    // Anonymous members are not reachable by an empty name, and a union is not a struct name.
    assert!(btf.member_offset("outer", &[""]).is_err());
    assert!(matches!(
        btf.member_offset("long", &["a"]),
        Err(BtfError::NoSuchStruct(_))
    ));
    Ok(())
}

#[test]
fn synthetic_big_endian_and_truncated_files() -> Result<(), BtfError> {
    // Flip every header and type word (not the strings) to big endian.
    let b = sample();
    let mut big = vec![0xeb, 0x9f, 1, 0];
    let header = [
        24,
        0,
        b.types.len() as u32 * 4,
        b.types.len() as u32 * 4,
        b.strings.len() as u32,
    ];
    for word in header.iter().chain(&b.types) {
        big.extend(word.to_be_bytes());
    }
    big.extend(&b.strings);
    let mut file = tempfile::NamedTempFile::new().map_err(|source| BtfError::Unreadable {
        path: PathBuf::new(),
        source,
    })?;
    file.write_all(&big)
        .map_err(|source| BtfError::Unreadable {
            path: PathBuf::new(),
            source,
        })?;
    assert_eq!(
        KernelBtf::from_path(file.path())?.member_offset("outer", &["in", "deep"])?,
        16
    );

    // Cut the blob short: header lengths now point past the end.
    let bytes = b.bytes();
    let mut short = tempfile::NamedTempFile::new().map_err(|source| BtfError::Unreadable {
        path: PathBuf::new(),
        source,
    })?;
    short
        .write_all(&bytes[..bytes.len() - 10])
        .map_err(|source| BtfError::Unreadable {
            path: PathBuf::new(),
            source,
        })?;
    let err = KernelBtf::from_path(short.path()).expect_err("lookup must fail");
    assert!(err.to_string().contains("lies outside the file"), "{err}");
    Ok(())
}

#[test]
fn synthetic_typedef_cycle_is_an_error_not_a_hang() {
    let mut b = Builder::new();
    // Type 1 is a typedef to type 2, which is a typedef back to type 1.
    b.add("a", 8, false, 0, 2, &[]);
    b.add("b", 8, false, 0, 1, &[]);
    b.composite(4, "s", 4, &[("m", 1, 0, 0)]);
    let btf = b.load().expect("loads");
    let err = btf
        .member_offset("s", &["m", "x"])
        .expect_err("lookup must fail");
    assert!(matches!(err, BtfError::Parse { .. }), "{err:?}");
}
