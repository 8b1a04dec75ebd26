//! Byte offsets of kernel struct members, read from the running kernel's BTF.
//!
//! Our eBPF probes are built without CO-RE relocations, so they cannot ask the
//! loader to patch field offsets for the running kernel. Instead userspace
//! looks the offsets up here, once at start-up, and hands them to the probes,
//! which then use `bpf_probe_read_kernel(base + offset)`.
//!
//! This is a deliberately small reader of the raw BTF format
//! (<https://docs.kernel.org/bpf/btf.html>): header, type section and string
//! section, keeping only what member lookup needs. aya-obj 0.3 parses BTF but
//! keeps its type and member accessors crate-private, and btf-rs is
//! LGPL-licensed, which this MIT/Apache project avoids linking statically.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where the kernel exposes its own BTF.
const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// BTF magic number, stored in the file's byte order.
const BTF_MAGIC: u16 = 0xeb9f;

/// Typedef/const/... chains and anonymous nesting are shallow in practice; the
/// limit only stops a crafted file with a reference cycle from looping forever.
const MAX_DEPTH: usize = 64;

/// Why a member offset could not be found. Each message is one line that says
/// what was missing, so it can be shown to the user as is.
#[derive(Debug, thiserror::Error)]
pub enum BtfError {
    #[error("cannot read kernel BTF from {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("malformed BTF in {}: {reason}", path.display())]
    Parse { path: PathBuf, reason: String },
    #[error("kernel BTF has no struct `{0}`")]
    NoSuchStruct(String),
    #[error("kernel BTF has no member `{member}` in struct {struct_name} (looking up `{path}`)")]
    NoSuchMember {
        struct_name: String,
        member: String,
        path: String,
    },
    #[error("member `{path}` is not a struct or union, so it has no member `{member}`")]
    NotAStruct { path: String, member: String },
    #[error("member `{path}` is a bitfield, which has no byte offset")]
    Bitfield { path: String },
    #[error("empty member path for struct {0}")]
    EmptyPath(String),
}

/// One member of a struct or union.
#[derive(Debug)]
struct Member {
    name_off: u32,
    type_id: u32,
    /// Offset from the start of the enclosing struct, in bits.
    bit_offset: u32,
    /// Width in bits if the struct's kind_flag encoding marks it as a bitfield.
    bitfield_size: u32,
}

/// The parts of a BTF type that member lookup needs; all else is `Other`.
#[derive(Debug)]
enum Kind {
    Struct {
        #[cfg_attr(not(test), allow(dead_code, reason = "only tests check sizes"))]
        size: u32,
        members: Vec<Member>,
    },
    Union {
        members: Vec<Member>,
    },
    /// Typedef, const, volatile, restrict or type tag: look through to `target`.
    Alias {
        target: u32,
    },
    /// Integers matter only to spot bitfields in structs without kind_flag.
    Int {
        size: u32,
        bits: u32,
        bit_offset: u32,
    },
    Other,
}

#[derive(Debug)]
struct Type {
    name_off: u32,
    kind: Kind,
}

/// The kernel's type information, loaded once at start-up.
#[derive(Debug)]
pub struct KernelBtf {
    path: PathBuf,
    /// Indexed by type id; id 0 is `void`.
    types: Vec<Type>,
    strings: Vec<u8>,
    /// Named structs by name, for the lookup of a path's first struct.
    structs: HashMap<String, u32>,
}

impl KernelBtf {
    /// Loads /sys/kernel/btf/vmlinux.
    pub fn load() -> Result<Self, BtfError> {
        Self::from_path(Path::new(VMLINUX_BTF))
    }

    /// Loads from a given file (used by tests).
    pub fn from_path(path: &Path) -> Result<Self, BtfError> {
        let data = std::fs::read(path).map_err(|source| BtfError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        let (types, strings) = parse(&data).map_err(|reason| BtfError::Parse {
            path: path.to_owned(),
            reason,
        })?;
        let mut btf = KernelBtf {
            path: path.to_owned(),
            types,
            strings,
            structs: HashMap::new(),
        };
        for (id, ty) in btf.types.iter().enumerate() {
            if let Kind::Struct { .. } = ty.kind {
                let name = String::from_utf8_lossy(btf.name(ty.name_off)).into_owned();
                // Ids fit in u32: parse() counts them from a u32-sized section.
                if !name.is_empty() {
                    btf.structs.entry(name).or_insert(id as u32);
                }
            }
        }
        Ok(btf)
    }

    /// Byte offset of a (possibly nested) member, e.g. ("sock", &["__sk_common", "skc_dport"]).
    /// Must descend through anonymous structs/unions transparently: a member of an anonymous
    /// struct/union inside `struct sock_common` is found by its own name (e.g. "skc_daddr" lives in
    /// an anonymous union/struct inside sock_common). Follows typedefs/const/volatile to reach the
    /// struct type of a named intermediate member. Rejects bitfield members with a typed error.
    pub fn member_offset(&self, struct_name: &str, path: &[&str]) -> Result<u32, BtfError> {
        if path.is_empty() {
            return Err(BtfError::EmptyPath(struct_name.to_owned()));
        }
        let mut type_id = *self
            .structs
            .get(struct_name)
            .ok_or_else(|| BtfError::NoSuchStruct(struct_name.to_owned()))?;
        let mut bits: u64 = 0;
        for (depth, &name) in path.iter().enumerate() {
            // "sock.__sk_common" style names for the path walked so far.
            let walked = |upto: usize| format!("{struct_name}.{}", path[..upto].join("."));
            let container = self.resolve(type_id)?;
            let Some(members) = self.members(container) else {
                return Err(BtfError::NotAStruct {
                    path: walked(depth),
                    member: name.to_owned(),
                });
            };
            let Some((offset, member)) = self.find_member(members, name.as_bytes(), 0)? else {
                let container_name = self.name(self.types[container].name_off);
                return Err(BtfError::NoSuchMember {
                    struct_name: match container_name {
                        [] => walked(depth),
                        named => String::from_utf8_lossy(named).into_owned(),
                    },
                    member: name.to_owned(),
                    path: walked(depth + 1),
                });
            };
            if self.is_bitfield(member)? {
                return Err(BtfError::Bitfield {
                    path: walked(depth + 1),
                });
            }
            bits += offset;
            type_id = member.type_id;
        }
        // No bitfields were crossed and struct members are byte aligned, but a
        // crafted file could still claim an odd bit offset.
        u32::try_from(bits / 8)
            .ok()
            .filter(|_| bits.is_multiple_of(8))
            .ok_or_else(|| {
                self.malformed(format!("member offset {bits} bits is not a byte offset"))
            })
    }

    /// Finds `name` among `members`, descending into anonymous struct/union
    /// members the way C does. Returns the member and its bit offset from the
    /// start of `members`' struct.
    fn find_member<'a>(
        &'a self,
        members: &'a [Member],
        name: &[u8],
        depth: usize,
    ) -> Result<Option<(u64, &'a Member)>, BtfError> {
        if depth > MAX_DEPTH {
            return Err(self.malformed("anonymous members nest too deeply".into()));
        }
        for member in members {
            let member_name = self.name(member.name_off);
            // Anonymous members have no name to match; only their insides do.
            if !member_name.is_empty() && member_name == name {
                return Ok(Some((u64::from(member.bit_offset), member)));
            }
            if member_name.is_empty()
                && let Some(inner) = self.members(self.resolve(member.type_id)?)
                && let Some((offset, found)) = self.find_member(inner, name, depth + 1)?
            {
                return Ok(Some((u64::from(member.bit_offset) + offset, found)));
            }
        }
        Ok(None)
    }

    /// A member is a bitfield if kind_flag gave it a width, or, in the older
    /// encoding, if its integer type is narrower than its storage or shifted.
    fn is_bitfield(&self, member: &Member) -> Result<bool, BtfError> {
        if member.bitfield_size != 0 || !member.bit_offset.is_multiple_of(8) {
            return Ok(true);
        }
        Ok(match self.types[self.resolve(member.type_id)?].kind {
            Kind::Int {
                size,
                bits,
                bit_offset,
            } => bit_offset != 0 || u64::from(bits) != u64::from(size) * 8,
            _ => false,
        })
    }

    /// Follows typedef/const/volatile/restrict/type-tag links to the real type.
    fn resolve(&self, mut type_id: u32) -> Result<usize, BtfError> {
        for _ in 0..MAX_DEPTH {
            // parse() checked that every referenced id exists.
            match self.types[type_id as usize].kind {
                Kind::Alias { target } => type_id = target,
                _ => return Ok(type_id as usize),
            }
        }
        Err(self.malformed(format!("type {type_id} has a typedef/qualifier cycle")))
    }

    fn members(&self, type_index: usize) -> Option<&[Member]> {
        match &self.types[type_index].kind {
            Kind::Struct { members, .. } | Kind::Union { members, .. } => Some(members),
            _ => None,
        }
    }

    /// The NUL-terminated string at `offset` (checked by parse()), without the NUL.
    fn name(&self, offset: u32) -> &[u8] {
        let rest = self.strings.get(offset as usize..).unwrap_or_default();
        rest.split(|&b| b == 0).next().unwrap_or_default()
    }

    fn malformed(&self, reason: String) -> BtfError {
        BtfError::Parse {
            path: self.path.clone(),
            reason,
        }
    }

    /// Size in bytes of a named struct, for tests' sanity checks.
    #[cfg(test)]
    fn struct_size(&self, name: &str) -> Option<u32> {
        match self.types[*self.structs.get(name)? as usize].kind {
            Kind::Struct { size, .. } => Some(size),
            _ => None,
        }
    }
}

/// Reads u32s in the byte order the file's magic revealed.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    big_endian: bool,
}

impl Reader<'_> {
    fn u32(&mut self) -> Result<u32, String> {
        let bytes: [u8; 4] = self
            .data
            .get(self.pos..self.pos + 4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("truncated at byte {}", self.pos))?;
        self.pos += 4;
        Ok(if self.big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        })
    }

    fn skip(&mut self, len: usize) -> Result<(), String> {
        if self.data.len() - self.pos < len {
            return Err(format!("truncated at byte {}", self.pos));
        }
        self.pos += len;
        Ok(())
    }
}

/// Parses raw BTF into its types (index = type id) and string section.
fn parse(data: &[u8]) -> Result<(Vec<Type>, Vec<u8>), String> {
    let big_endian = match data.get(..2) {
        Some(m) if u16::from_le_bytes([m[0], m[1]]) == BTF_MAGIC => false,
        Some(m) if u16::from_be_bytes([m[0], m[1]]) == BTF_MAGIC => true,
        _ => return Err("not a BTF file (bad magic)".into()),
    };
    // Header: magic u16, version u8, flags u8, hdr_len, type_off, type_len, str_off, str_len.
    let mut header = Reader {
        data,
        pos: 4,
        big_endian,
    };
    let (hdr_len, type_off, type_len) = (header.u32()?, header.u32()?, header.u32()?);
    let (str_off, str_len) = (header.u32()?, header.u32()?);
    let section = |off: u32, len: u32| {
        let start = (hdr_len as usize).checked_add(off as usize)?;
        data.get(start..start.checked_add(len as usize)?)
    };
    let type_data = section(type_off, type_len).ok_or("type section lies outside the file")?;
    let strings = section(str_off, str_len).ok_or("string section lies outside the file")?;

    let mut types = vec![Type {
        name_off: 0,
        kind: Kind::Other,
    }]; // id 0: void
    let mut r = Reader {
        data: type_data,
        pos: 0,
        big_endian,
    };
    while r.pos < type_data.len() {
        let name_off = r.u32()?;
        let info = r.u32()?;
        let size_or_type = r.u32()?;
        let vlen = (info & 0xffff) as usize;
        let kind_flag = info >> 31 == 1;
        let kind = match (info >> 24) & 0x1f {
            1 => {
                let encoding = r.u32()?;
                Kind::Int {
                    size: size_or_type,
                    bits: encoding & 0xff,
                    bit_offset: (encoding >> 16) & 0xff,
                }
            }
            kind @ (4 | 5) => {
                let mut members = Vec::with_capacity(vlen);
                for _ in 0..vlen {
                    let (name_off, type_id, offset) = (r.u32()?, r.u32()?, r.u32()?);
                    // With kind_flag the top byte holds a bitfield's width.
                    let (bit_offset, bitfield_size) = if kind_flag {
                        (offset & 0xff_ffff, offset >> 24)
                    } else {
                        (offset, 0)
                    };
                    members.push(Member {
                        name_off,
                        type_id,
                        bit_offset,
                        bitfield_size,
                    });
                }
                if kind == 4 {
                    Kind::Struct {
                        size: size_or_type,
                        members,
                    }
                } else {
                    Kind::Union { members }
                }
            }
            // TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG.
            8 | 9 | 10 | 11 | 18 => Kind::Alias {
                target: size_or_type,
            },
            kind => {
                // Skip the trailing data of kinds we do not look into.
                let trailer = match kind {
                    2 | 7 | 12 | 16 => 0, // PTR, FWD, FUNC, FLOAT
                    3 => 12,              // ARRAY
                    6 | 13 => 8 * vlen,   // ENUM, FUNC_PROTO
                    14 | 17 => 4,         // VAR, DECL_TAG
                    15 | 19 => 12 * vlen, // DATASEC, ENUM64
                    _ => return Err(format!("unknown BTF kind {kind} for type {}", types.len())),
                };
                r.skip(trailer)?;
                Kind::Other
            }
        };
        types.push(Type { name_off, kind });
    }
    check_references(&types, strings.len())?;
    Ok((types, strings.to_vec()))
}

/// Checks that every type id and name offset we may follow later exists, so
/// lookups can index without further checks.
fn check_references(types: &[Type], strings_len: usize) -> Result<(), String> {
    let type_ok = |id: u32| (id as usize) < types.len();
    let name_ok = |off: u32| off == 0 || (off as usize) < strings_len;
    for (id, ty) in types.iter().enumerate() {
        let ok = name_ok(ty.name_off)
            && match &ty.kind {
                Kind::Alias { target } => type_ok(*target),
                Kind::Struct { members, .. } | Kind::Union { members, .. } => members
                    .iter()
                    .all(|m| type_ok(m.type_id) && name_ok(m.name_off)),
                _ => true,
            };
        if !ok {
            return Err(format!("type {id} refers to a missing type or string"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
