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
//! [`parse`] reads the file; this module answers lookups.

mod parse;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use parse::{Kind, Member, Type, parse};

/// Where the kernel exposes its own BTF.
const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

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

#[cfg(test)]
mod tests;
