//! The text of a tracefs `format` file, parsed into the layout of one tracepoint's record.

/// A format file that does not look like the kernel's, or a field the probes need
/// that this kernel's tracepoint lacks. Line numbers are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("format text is empty")]
    Empty,

    #[error("format has no `{key}:` line")]
    MissingHeader { key: &'static str },

    #[error("line {line}: field has no `{key}:` attribute")]
    MissingAttribute { line: usize, key: &'static str },

    #[error("line {line}: `{key}:` value {value:?} is not a valid number")]
    InvalidNumber {
        line: usize,
        key: &'static str,
        value: String,
    },

    #[error("line {line}: cannot parse field declaration {text:?}")]
    MalformedField { line: usize, text: String },

    #[error("tracepoint {name} lists no fields")]
    NoFields { name: String },

    #[error("tracepoint {tracepoint} has no field `{field}` on this kernel")]
    MissingField { tracepoint: String, field: String },
}

/// One tracepoint's record layout, as its format file describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracepointFormat {
    pub name: String,
    pub id: u32,
    /// In file order, `common_*` fields included.
    pub fields: Vec<FormatField>,
}

/// One field of a tracepoint record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatField {
    /// The C identifier, without any array suffix: `comm` for `char comm[16]`.
    pub name: String,
    /// The declaration with the name taken out and any array suffix kept:
    /// `char[16]`, `const char *`, `__data_loc char[]`.
    pub type_decl: String,
    /// Byte offset from the start of the record.
    pub offset: u16,
    pub size: u16,
    pub signed: bool,
    /// The field holds a `__data_loc` word rather than the data: the low 16 bits
    /// are the data's offset in the record and the high 16 bits its length.
    pub data_loc: bool,
}

impl TracepointFormat {
    pub fn field(&self, name: &str) -> Option<&FormatField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Like [`field`](Self::field) but an error naming the tracepoint and field
    /// when missing, for probes that cannot work without it.
    pub fn require(&self, name: &str) -> Result<&FormatField, FormatError> {
        self.field(name).ok_or_else(|| FormatError::MissingField {
            tracepoint: self.name.clone(),
            field: name.to_owned(),
        })
    }
}

/// Parses the text of a tracefs `format` file.
///
/// The file has `name:` and `ID:` header lines, then one line per field such as
/// `\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;`, then a `print fmt:` line
/// that we ignore (it may contain anything, `field:` included).
pub fn parse_format(text: &str) -> Result<TracepointFormat, FormatError> {
    if text.trim().is_empty() {
        return Err(FormatError::Empty);
    }
    let mut name = None;
    let mut id = None;
    let mut fields = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        if line.starts_with("print fmt:") {
            break;
        } else if let Some(value) = line.strip_prefix("name:") {
            name = Some(value.trim().to_owned());
        } else if let Some(value) = line.strip_prefix("ID:") {
            id = Some(parse_number::<u32>(value, line_no, "ID")?);
        } else if let Some(rest) = line
            .strip_prefix("field:")
            // Kernels before 3.x marked ftrace-internal fields this way.
            .or_else(|| line.strip_prefix("field special:"))
        {
            fields.push(parse_field(rest, line_no)?);
        }
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or(FormatError::MissingHeader { key: "name" })?;
    let id = id.ok_or(FormatError::MissingHeader { key: "ID" })?;
    if fields.is_empty() {
        return Err(FormatError::NoFields { name });
    }
    Ok(TracepointFormat { name, id, fields })
}

/// Parses what follows `field:` on a field line: `DECL;\toffset:N;\tsize:N;\tsigned:N;`.
fn parse_field(rest: &str, line: usize) -> Result<FormatField, FormatError> {
    let malformed = || FormatError::MalformedField {
        line,
        text: rest.trim().to_owned(),
    };
    let mut parts = rest.split(';');
    let decl = parts.next().unwrap_or_default();
    let (name, type_decl) = split_declaration(decl).ok_or_else(malformed)?;

    let (mut offset, mut size, mut signed) = (None, None, None);
    for part in parts.map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once(':').ok_or_else(malformed)?;
        match key.trim() {
            "offset" => offset = Some(parse_number::<u16>(value, line, "offset")?),
            "size" => size = Some(parse_number::<u16>(value, line, "size")?),
            "signed" => signed = Some(parse_number::<u8>(value, line, "signed")? != 0),
            // Unknown attributes are skipped so a future kernel adding one still parses.
            _ => {}
        }
    }
    Ok(FormatField {
        data_loc: type_decl.starts_with("__data_loc"),
        name,
        type_decl,
        offset: offset.ok_or(FormatError::MissingAttribute {
            line,
            key: "offset",
        })?,
        size: size.ok_or(FormatError::MissingAttribute { line, key: "size" })?,
        // Kernels before 2.6.32 did not print `signed:`; unsigned is the safe reading.
        signed: signed.unwrap_or(false),
    })
}

fn parse_number<T: std::str::FromStr>(
    value: &str,
    line: usize,
    key: &'static str,
) -> Result<T, FormatError> {
    let value = value.trim();
    value.parse().map_err(|_| FormatError::InvalidNumber {
        line,
        key,
        value: value.to_owned(),
    })
}

/// Splits a C declaration into (name, type with the name removed):
/// `char comm[16]` -> (`comm`, `char[16]`), `const char * filename` ->
/// (`filename`, `const char *`), `__data_loc char[] filename` -> (`filename`,
/// `__data_loc char[]`). Array sizes may be expressions such as
/// `[sizeof(struct sockaddr_in6)]`.
fn split_declaration(decl: &str) -> Option<(String, String)> {
    let decl = decl.trim();
    // Peel trailing `[..]` groups (there may be several: `int grid[2][3]`).
    let mut base = decl;
    while base.ends_with(']') {
        base = base[..matching_open_bracket(base)?].trim_end();
    }
    let array = decl[base.len()..].trim_start();
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let name_start = base
        .char_indices()
        .rev()
        .find(|&(_, c)| !is_ident(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let name = &base[name_start..];
    let ty = base[..name_start].trim_end();
    if name.is_empty() || ty.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some((name.to_owned(), format!("{ty}{array}")))
}

/// Byte index of the `[` matching the `]` that ends `decl`.
fn matching_open_bracket(decl: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in decl.char_indices().rev() {
        match c {
            ']' => depth += 1,
            '[' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests;
