//! The raw BTF format (<https://docs.kernel.org/bpf/btf.html>): header, type section and
//! string section, read into the few kinds member lookup needs.

use crate::byte_fields::{ByteFields, ByteOrder};

/// BTF magic number, stored in the file's byte order.
const BTF_MAGIC: u16 = 0xeb9f;

/// One member of a struct or union.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) name_off: u32,
    pub(super) type_id: u32,
    /// Offset from the start of the enclosing struct, in bits.
    pub(super) bit_offset: u32,
    /// Width in bits if the struct's kind_flag encoding marks it as a bitfield.
    pub(super) bitfield_size: u32,
}

/// The parts of a BTF type that member lookup needs; all else is `Other`.
#[derive(Debug)]
pub(super) enum Kind {
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
pub(super) struct Type {
    pub(super) name_off: u32,
    pub(super) kind: Kind,
}

/// Walks a section's u32s in the byte order the file's magic revealed.
struct Cursor<'a> {
    fields: ByteFields<'a>,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8], pos: usize, order: ByteOrder) -> Self {
        Self {
            fields: ByteFields::new(data, order),
            pos,
        }
    }

    fn u32(&mut self) -> Result<u32, String> {
        let value = self
            .fields
            .u32(self.pos)
            .ok_or_else(|| format!("truncated at byte {}", self.pos))?;
        self.pos += 4;
        Ok(value)
    }

    fn skip(&mut self, len: usize) -> Result<(), String> {
        if self.fields.bytes(self.pos, len).is_none() {
            return Err(format!("truncated at byte {}", self.pos));
        }
        self.pos += len;
        Ok(())
    }
}

/// Parses raw BTF into its types (index = type id) and string section.
pub(super) fn parse(data: &[u8]) -> Result<(Vec<Type>, Vec<u8>), String> {
    let has_magic = |order| ByteFields::new(data, order).u16(0) == Some(BTF_MAGIC);
    let order = if has_magic(ByteOrder::Little) {
        ByteOrder::Little
    } else if has_magic(ByteOrder::Big) {
        ByteOrder::Big
    } else {
        return Err("not a BTF file (bad magic)".into());
    };
    // Header: magic u16, version u8, flags u8, hdr_len, type_off, type_len, str_off, str_len.
    let mut header = Cursor::new(data, 4, order);
    let (hdr_len, type_off, type_len) = (header.u32()?, header.u32()?, header.u32()?);
    let (str_off, str_len) = (header.u32()?, header.u32()?);
    let section = |off: u32, len: u32| {
        let start = (hdr_len as usize).checked_add(off as usize)?;
        ByteFields::new(data, order).bytes(start, len as usize)
    };
    let type_data = section(type_off, type_len).ok_or("type section lies outside the file")?;
    let strings = section(str_off, str_len).ok_or("string section lies outside the file")?;

    let mut types = vec![Type {
        name_off: 0,
        kind: Kind::Other,
    }]; // id 0: void
    let mut r = Cursor::new(type_data, 0, order);
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
