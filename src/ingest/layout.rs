//! The layout of a CSV file, found in one streaming pass over its bytes (the same pass that
//! hashes it): the header's names, blank records (skipped, like blank sheet rows), ragged
//! records (a value beyond the header's last column: quarantined by row; a record with fewer
//! fields is read with the rest empty, and missing values are judged as such), an unterminated quote,
//! the first byte that is not UTF-8; and, from the first bytes, what a file that is not CSV text
//! is instead (a workbook, UTF-16 text, an encrypted workbook).
//!
//! Records are split as polars splits them: a field that starts with a quote is quoted, and in
//! it every quote toggles; a quote inside an unquoted field is a plain character.

/// How many bytes of a record's text a quarantine entry shows.
const PREVIEW: usize = 80;
/// How many first bytes are kept to tell what kind of file it is.
const SNIFF: usize = 4096;
/// Every this many records the scan notes where the next one starts, so a value can be read
/// again from the file (the text of a typed value, for a message) without reading it all.
pub const STRIDE: u64 = 256;

/// A record with a value in a field beyond the header's last column: the values cannot be told
/// apart from a separator inside an unquoted value, so the row cannot be trusted.
#[derive(Debug, Clone, PartialEq)]
pub struct Ragged {
    /// The row a person looks for (the header is row 1).
    pub row: u64,
    pub fields: usize,
    /// The header's fields.
    pub expected: usize,
    /// The start of the record's text.
    pub text: String,
}

/// What the pass found.
#[derive(Debug, Default, PartialEq)]
pub struct Layout {
    /// The header's names, as written (quotes removed).
    pub header: Vec<String>,
    /// The header's bytes, line end included.
    pub header_line: Vec<u8>,
    /// Records after the header, blank ones included.
    pub records: u64,
    /// Rows of records with nothing but separators and spaces.
    pub blank: Vec<u64>,
    pub ragged: Vec<Ragged>,
    /// The row of a record whose quoted field never closes.
    pub unterminated_quote: Option<u64>,
    /// The row and value of the first byte that is not part of UTF-8 text.
    pub invalid_utf8: Option<(u64, u8)>,
    /// The file's first bytes.
    pub head: Vec<u8>,
    /// `(row, byte offset)` of the first data record and of every [`STRIDE`]th after it.
    pub checkpoints: Vec<(u64, u64)>,
}

/// A streaming scanner: feed it the file's bytes in order, then `finish`. A plain record (no
/// quote, no more fields than the header) is taken whole, its separators counted in one pass;
/// any other jumps from one separator, quote or line end to the next (`memchr`), so a clean file
/// costs little more than reading it.
pub struct Scanner {
    delimiter: u8,
    quote: u8,
    /// Inside a quoted field, between an opening quote and its closing one.
    in_quotes: bool,
    /// The current field started with a quote.
    field_quoted: bool,
    /// No byte of the current field read yet.
    field_start: bool,
    fields: usize,
    /// Only separators and spaces so far in this record.
    blank: bool,
    /// A field beyond the header's last column holds something.
    beyond: bool,
    /// The current record's bytes from earlier chunks (the first `PREVIEW`; all of the header's).
    text: Vec<u8>,
    record: u64,
    header_fields: usize,
    /// Bytes of an incomplete UTF-8 sequence at the end of the last chunk.
    carry: Vec<u8>,
    /// Offset and value of the first byte that is not UTF-8, once found.
    bad_utf8_at: Option<(u64, u8)>,
    /// Offset of the chunk being scanned.
    pos: u64,
    layout: Layout,
    /// Plain records taken whole ([`Scanner::plain_record`]); off only to test it against the
    /// byte by byte path.
    fast: bool,
}

impl Scanner {
    pub fn new(delimiter: u8) -> Self {
        Scanner {
            delimiter,
            quote: b'"',
            in_quotes: false,
            field_quoted: false,
            field_start: true,
            fields: 1,
            blank: true,
            beyond: false,
            text: Vec::new(),
            record: 0,
            header_fields: 0,
            carry: Vec::new(),
            bad_utf8_at: None,
            pos: 0,
            layout: Layout::default(),
            fast: true,
        }
    }

    /// The layout of a whole file held in memory.
    pub fn scan(bytes: &[u8], delimiter: u8) -> Layout {
        let mut s = Scanner::new(delimiter);
        s.feed(bytes);
        s.finish()
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        if self.layout.head.len() < SNIFF {
            let n = (SNIFF - self.layout.head.len()).min(chunk.len());
            self.layout.head.extend_from_slice(&chunk[..n]);
        }
        self.check_utf8(chunk);
        let (delimiter, quote) = (self.delimiter, self.quote);
        // Where the current record starts in this chunk, and where the unread bytes start.
        let mut record_start = 0;
        let mut i = 0;
        // Where the search for the next separator, quote or line end goes on.
        let mut pos = 0;
        while pos < chunk.len() {
            if let Some(end) = self.plain_record(&chunk[pos..]) {
                self.end_record(&chunk[pos..=pos + end], pos + end);
                (record_start, pos, i) = (pos + end + 1, pos + end + 1, pos + end + 1);
                continue;
            }
            let Some(k) = memchr::memchr3(b'\n', delimiter, quote, &chunk[pos..]).map(|n| pos + n) else { break };
            pos = k + 1;
            let b = chunk[k];
            if self.in_quotes {
                // Inside quotes only a quote matters: it closes them.
                if b == quote {
                    self.in_quotes = false;
                    i = k + 1;
                }
                continue;
            }
            if k > i {
                self.segment(&chunk[i..k]);
            }
            if b == b'\n' {
                self.end_record(&chunk[record_start..=k], k);
                record_start = k + 1;
            } else if b == delimiter {
                self.fields += 1;
                self.field_start = true;
                self.field_quoted = false;
            } else {
                // A quote opens a quoted field at its start, and toggles inside one; elsewhere it
                // is a plain character.
                if self.field_start || self.field_quoted {
                    self.field_quoted = true;
                    self.in_quotes = true;
                }
                self.field_start = false;
                self.blank = false;
                self.beyond |= self.record > 0 && self.fields > self.header_fields;
            }
            i = k + 1;
        }
        if !self.in_quotes && i < chunk.len() {
            self.segment(&chunk[i..]);
        }
        let rest = &chunk[record_start..];
        let keep = if self.record == 0 { rest.len() } else { PREVIEW.saturating_sub(self.text.len()).min(rest.len()) };
        self.text.extend_from_slice(&rest[..keep]);
        self.pos += chunk.len() as u64;
    }

    /// The common record, taken whole: `rest` starts a data record and holds its line end, and
    /// the record has no quote, a value, and no more fields than the header. Its fields are
    /// counted in one pass (no stop at every separator) and the state is left as the byte by
    /// byte path leaves it before the line end; returns the line end's index in `rest`. Any
    /// other record (`None`) goes byte by byte.
    fn plain_record(&mut self, rest: &[u8]) -> Option<usize> {
        let fresh = self.fields == 1 && self.field_start && !self.field_quoted && self.blank && !self.beyond;
        if !self.fast || self.record == 0 || self.in_quotes || !fresh || !self.text.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', rest)?;
        let line = &rest[..end];
        if memchr::memchr(self.quote, line).is_some() {
            return None;
        }
        let d = self.delimiter;
        let fields = 1 + count_byte(line, d);
        if fields > self.header_fields || !line.iter().any(|&b| !matches!(b, b' ' | b'\t' | b'\r') && b != d) {
            return None;
        }
        (self.fields, self.field_start, self.blank) = (fields, false, false);
        Some(end)
    }

    /// Bytes of a field between separators: do they make the record not blank, or put a value
    /// beyond the header's last column? (Only asked while the answer can still change.)
    fn segment(&mut self, bytes: &[u8]) {
        self.field_start = false;
        let beyond = self.record > 0 && self.fields > self.header_fields;
        if (self.blank || (beyond && !self.beyond)) && bytes.iter().any(|b| !matches!(b, b' ' | b'\t' | b'\r')) {
            self.blank = false;
            self.beyond |= beyond;
        }
    }

    /// Finds the offset of the first byte that is not UTF-8, across chunk boundaries.
    fn check_utf8(&mut self, chunk: &[u8]) {
        if self.bad_utf8_at.is_some() {
            return;
        }
        let start = self.pos - self.carry.len() as u64;
        let joined;
        let bytes = if self.carry.is_empty() {
            chunk
        } else {
            joined = [self.carry.as_slice(), chunk].concat();
            &joined
        };
        let mut carry = Vec::new();
        // The common case, valid text, checked by the vectorised validator; the standard one
        // only where it fails, for the offset (or a sequence cut at the chunk's end).
        if simdutf8::basic::from_utf8(bytes).is_ok() {
            self.carry = carry;
            return;
        }
        if let Err(e) = std::str::from_utf8(bytes) {
            let at = e.valid_up_to();
            match e.error_len() {
                Some(_) => self.bad_utf8_at = Some((start + at as u64, bytes[at])),
                // Cut at the chunk's end: judged with the next chunk.
                None => carry = bytes[at..].to_vec(),
            }
        }
        self.carry = carry;
    }

    /// The record ends at `end` (the index of its line end in the chunk); `tail` is its part in
    /// this chunk, `self.text` what came before.
    fn end_record(&mut self, tail: &[u8], end: usize) {
        let row = self.record + 1;
        if let Some((at, byte)) = self.bad_utf8_at.filter(|_| self.layout.invalid_utf8.is_none())
            && at <= self.pos + end as u64
        {
            self.layout.invalid_utf8 = Some((row, byte));
        }
        if self.record == 0 {
            self.text.extend_from_slice(tail);
            self.header_fields = self.fields;
            self.layout.header = split_header(&self.text, self.delimiter, self.quote);
            self.layout.header_line = std::mem::take(&mut self.text);
            self.layout.checkpoints.push((row + 1, self.pos + end as u64 + 1));
        } else {
            self.layout.records += 1;
            if self.layout.records.is_multiple_of(STRIDE) {
                self.layout.checkpoints.push((row + 1, self.pos + end as u64 + 1));
            }
            if self.blank {
                self.layout.blank.push(row);
            } else if self.beyond {
                let mut bytes = std::mem::take(&mut self.text);
                bytes.extend_from_slice(&tail[..tail.len().min(PREVIEW.saturating_sub(bytes.len()))]);
                let text = String::from_utf8_lossy(&bytes);
                let text = text.trim_end_matches(['\r', '\n']);
                let text = if bytes.len() >= PREVIEW { format!("{text}…") } else { text.to_string() };
                self.layout.ragged.push(Ragged { row, fields: self.fields, expected: self.header_fields, text });
            }
        }
        self.record += 1;
        self.fields = 1;
        self.field_start = true;
        self.field_quoted = false;
        self.blank = true;
        self.beyond = false;
        self.text.clear();
    }

    pub fn finish(mut self) -> Layout {
        if self.in_quotes {
            self.layout.unterminated_quote = Some(self.record + 1);
        } else if !self.text.is_empty() {
            // The last record, without a line end.
            self.pos = self.pos.saturating_sub(1);
            self.end_record(&[], 0);
        }
        if self.layout.invalid_utf8.is_none() {
            if let Some((_, byte)) = self.bad_utf8_at {
                self.layout.invalid_utf8 = Some((self.record.max(1), byte));
            } else if let Some(byte) = self.carry.first() {
                self.layout.invalid_utf8 = Some((self.record.max(1), *byte));
            }
        }
        self.layout
    }
}

/// How many times `d` occurs in `bytes`: 32 bytes at a time summed as bytes (which the compiler
/// turns into vector compares), the rest one by one.
fn count_byte(bytes: &[u8], d: u8) -> usize {
    let mut blocks = bytes.chunks_exact(32);
    let mut n = 0;
    for block in &mut blocks {
        n += usize::from(block.iter().map(|&b| u8::from(b == d)).sum::<u8>());
    }
    n + blocks.remainder().iter().filter(|&&b| b == d).count()
}

/// The text of chosen fields of chosen records, read again from the file: `wanted` is
/// `(row, field index)` pairs in any order; the answer is in the same order, `None` where the
/// record has no such field. Each row is reached from the nearest checkpoint before it (the
/// scan's, see [`STRIDE`]), so a few rows cost a few short reads, not the whole file. Fields are
/// split and unquoted as polars reads a text column (a quoted field loses its outer quotes, and
/// `""` in it is one quote).
pub fn fields_at<R: std::io::Read + std::io::Seek>(
    input: R,
    delimiter: u8,
    checkpoints: &[(u64, u64)],
    wanted: &[(u64, usize)],
) -> std::io::Result<Vec<Option<String>>> {
    use std::io::{BufReader, Seek, SeekFrom};
    let mut order: Vec<usize> = (0..wanted.len()).collect();
    order.sort_by_key(|&i| wanted[i]);
    // Small reads: a row is on average half a stride (about 8 KB of records) from its checkpoint,
    // and a bad row's few values read again cost a few KB each, not a 64 KB refill.
    let mut input = BufReader::with_capacity(1 << 13, input);
    let mut out = vec![None; wanted.len()];
    // The row the reader stands at (its next record), once positioned.
    let mut at: Option<u64> = None;
    let mut fields: Vec<Vec<u8>> = Vec::new();
    let mut fields_row: Option<u64> = None;
    for i in order {
        let (row, field) = wanted[i];
        if fields_row != Some(row) {
            let cp = checkpoints.partition_point(|(r, _)| *r <= row);
            let Some(&(cp_row, offset)) = cp.checked_sub(1).and_then(|c| checkpoints.get(c)) else { continue };
            if at.is_none_or(|a| a > row || a < cp_row) {
                input.seek(SeekFrom::Start(offset))?;
                at = Some(cp_row);
            }
            let mut found = false;
            while let Some(a) = at.filter(|a| *a <= row) {
                found = read_record(&mut input, delimiter, b'"', &mut fields)?;
                at = found.then_some(a + 1);
                if !found {
                    break;
                }
            }
            if !found {
                continue;
            }
            fields_row = Some(row);
        }
        out[i] = fields.get(field).map(|f| String::from_utf8_lossy(&unquoted(f, b'"')).into_owned());
    }
    Ok(out)
}

/// Reads one record's fields as written (quotes kept); false at the end of the input.
fn read_record<R: std::io::BufRead>(
    input: &mut R,
    delimiter: u8,
    quote: u8,
    fields: &mut Vec<Vec<u8>>,
) -> std::io::Result<bool> {
    fields.clear();
    let mut field = Vec::new();
    let (mut in_quotes, mut quoted, mut start, mut any) = (false, false, true, false);
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            if any {
                fields.push(field);
            }
            return Ok(any);
        }
        let mut used = 0;
        let mut done = false;
        for &b in buf {
            used += 1;
            any = true;
            if in_quotes {
                in_quotes = b != quote;
                field.push(b);
            } else if b == b'\n' {
                if field.last() == Some(&b'\r') {
                    field.pop();
                }
                done = true;
                break;
            } else if b == delimiter {
                fields.push(std::mem::take(&mut field));
                (quoted, start) = (false, true);
            } else {
                if b == quote && (start || quoted) {
                    (quoted, in_quotes) = (true, true);
                }
                start = false;
                field.push(b);
            }
        }
        input.consume(used);
        if done {
            fields.push(field);
            return Ok(true);
        }
    }
}

/// A field's text as polars reads it: a quoted field without its outer quotes, `""` as one quote.
fn unquoted(field: &[u8], quote: u8) -> Vec<u8> {
    if field.len() < 2 || field[0] != quote || field.last() != Some(&quote) {
        return field.to_vec();
    }
    let mut out = Vec::with_capacity(field.len());
    let mut prev_quote = false;
    for &c in &field[1..field.len() - 1] {
        if c == quote && !prev_quote {
            prev_quote = true;
        } else {
            prev_quote = false;
            out.push(c);
        }
    }
    out
}

/// The header's names: split at separators outside quotes, quotes removed (`""` is one quote).
fn split_header(text: &[u8], delimiter: u8, quote: u8) -> Vec<String> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let mut names = Vec::new();
    let mut field = Vec::new();
    let (mut in_quotes, mut quoted, mut start) = (false, false, true);
    let mut prev_quote = false;
    for &b in text {
        if in_quotes {
            if b == quote {
                in_quotes = false;
                prev_quote = true;
            } else {
                field.push(b);
            }
            continue;
        }
        if b == quote && (start || quoted) {
            if prev_quote {
                field.push(quote);
            }
            quoted = true;
            in_quotes = true;
        } else if b == delimiter {
            names.push(String::from_utf8_lossy(&field).into_owned());
            field.clear();
            quoted = false;
            start = true;
            prev_quote = false;
            continue;
        } else {
            field.push(b);
        }
        start = false;
        prev_quote = false;
    }
    names.push(String::from_utf8_lossy(&field).into_owned());
    names
}

/// What a file that should be CSV text is instead, from its first bytes, and what to do about
/// it: `None` when it looks like text.
pub fn not_text(head: &[u8]) -> Option<(&'static str, &'static str)> {
    let as_xlsx = "make the source `type = \"xlsx\"` with its `sheet`, or save the sheet as CSV UTF-8";
    if head.starts_with(b"PK\x03\x04") {
        Some(("a workbook (`.xlsx`), not CSV text", as_xlsx))
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        Some(("an Excel file in the old `.xls` format or an encrypted workbook, not CSV text", as_xlsx))
    } else if head.starts_with(b"PAR1") {
        Some(("a Parquet file, not CSV text", "make the source `type = \"parquet\"`"))
    } else if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) || looks_utf16(head) {
        Some((
            "UTF-16 text (Excel's \"Unicode Text\"), not UTF-8",
            "save it as UTF-8: in Excel, Save As \"CSV UTF-8 (Comma delimited)\"",
        ))
    } else {
        None
    }
}

/// Text in UTF-16 without a byte-order mark: every other byte zero.
fn looks_utf16(head: &[u8]) -> bool {
    let n = head.len().min(512);
    n >= 8 && head[..n].iter().filter(|b| **b == 0).count() * 3 >= n
}

/// The separator a header line most likely uses, when it is not `configured`: the most frequent
/// of `;`, tab, `|` and `,` in the line.
pub fn likely_delimiter(header_line: &str, configured: u8) -> Option<u8> {
    let count = |d: u8| header_line.bytes().filter(|b| *b == d).count();
    [b';', b'\t', b'|', b',']
        .into_iter()
        .filter(|d| *d != configured)
        .max_by_key(|d| count(*d))
        .filter(|d| count(*d) > 0 && count(*d) > count(configured))
}

/// The spreadsheet letter of a column counted from 0: `A`, `Z`, `AA`.
pub fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ascii")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ragged_blank_and_quoted_records_by_row() {
        let csv = b"a,b,c\n1,2,3\n4,5,6,7\n\n,, \r\n\"x,\ny\",\"q\"\"\",9\n8,9\n1,2,3,,\r\n1,2,3,\"\"\n";
        let l = Scanner::scan(csv, b',');
        assert_eq!(l.header, ["a", "b", "c"]);
        assert_eq!(l.records, 8);
        assert_eq!(l.blank, [4, 5]);
        // Fewer fields (row 7) and empty fields beyond the header (row 8) lose nothing; a quoted
        // empty value (row 9) is a value.
        assert_eq!(
            l.ragged,
            [
                Ragged { row: 3, fields: 4, expected: 3, text: "4,5,6,7".into() },
                Ragged { row: 9, fields: 4, expected: 3, text: "1,2,3,\"\"".into() }
            ]
        );
        assert_eq!(l.unterminated_quote, None);
    }

    #[test]
    fn chunks_do_not_change_the_answer() {
        let inputs: [&[u8]; 4] = [
            "a;b\n\"x\";2\nü;\u{fc}\n".as_bytes(),
            b"a,b,c\n1,2,3\n4,5,6,7\n\n,, \r\n\"x,\ny\",\"q\"\"\",9\n8,9",
            b"a,b\n1,2\nM\xfcller,3\n4,5,6\n",
            b"a,b\n1,2\n\"3,4\n5,6\n",
        ];
        for csv in inputs {
            let whole = Scanner::scan(csv, if csv[1] == b';' { b';' } else { b',' });
            for cut in 0..csv.len() {
                for cut2 in cut..csv.len() {
                    let mut s = Scanner::new(if csv[1] == b';' { b';' } else { b',' });
                    s.feed(&csv[..cut]);
                    s.feed(&csv[cut..cut2]);
                    s.feed(&csv[cut2..]);
                    assert_eq!(s.finish(), whole, "cuts at {cut} and {cut2} of {:?}", String::from_utf8_lossy(csv));
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Plain records taken whole give the layout the byte by byte path gives, wherever the
        /// chunks are cut: bytes from a small alphabet (separators, quotes, blanks, line ends,
        /// a two-byte letter) make every kind of record, short, long, blank, quoted and open.
        #[test]
        fn plain_records_taken_whole_are_the_byte_by_byte_layout(
            body in proptest::collection::vec(proptest::sample::select(vec![
                "a", "b", ",", ",", "\"", " ", "\t", "\r", "\n", "\n", "ü", "1", "22",
            ]), 0..120),
            cut in 0usize..200,
        ) {
            let csv = format!("h1,h2,h3\n{}", body.concat()).into_bytes();
            let cut = cut.min(csv.len());
            let scan = |fast: bool| {
                let mut s = Scanner::new(b',');
                s.fast = fast;
                s.feed(&csv[..cut]);
                s.feed(&csv[cut..]);
                s.finish()
            };
            proptest::prop_assert_eq!(scan(true), scan(false));
        }
    }

    #[test]
    fn bytes_counted_in_blocks_are_the_bytes_counted_one_by_one() {
        // Every length around the 32-byte blocks, the byte at every third place.
        for len in 0usize..100 {
            let bytes: Vec<u8> = (0..len).map(|i| if i % 3 == 0 { b',' } else { b'x' }).collect();
            assert_eq!(count_byte(&bytes, b','), len.div_ceil(3), "{len}");
        }
        assert_eq!(count_byte(&[b','; 64], b','), 64);
    }

    #[test]
    fn an_open_quote_and_a_latin1_byte_are_found_with_their_row() {
        let l = Scanner::scan(b"a,b\n1,2\n\"3,4\n5,6\n", b',');
        assert_eq!(l.unterminated_quote, Some(3));
        let l = Scanner::scan(b"a,b\n1,2\nM\xfcller,3\n", b',');
        assert_eq!(l.invalid_utf8, Some((3, 0xFC)));
        let l = Scanner::scan(b"a,b\n1,2\n5\" pipe,3\n", b',');
        assert_eq!((l.unterminated_quote, l.records), (None, 2), "a quote inside a field is a character");
    }

    #[test]
    fn headers_files_that_are_not_text_and_delimiters() {
        assert_eq!(split_header(b"\xEF\xBB\xBF\"a,b\",\"c\"\"\",d\r\n", b',', b'"'), ["a,b", "c\"", "d"]);
        assert!(not_text(b"PK\x03\x04rest").is_some());
        assert!(not_text(&[0xFF, 0xFE, b'a', 0]).unwrap().0.contains("UTF-16"));
        assert!(not_text("a\0,\0b\0\n\0".as_bytes()).unwrap().0.contains("UTF-16"));
        assert_eq!(not_text(b"sku,qty\nP-1,5\n"), None);
        assert_eq!(likely_delimiter("sku;customer;qty", b','), Some(b';'));
        assert_eq!(likely_delimiter("sku,customer,qty", b','), None);
        assert_eq!(likely_delimiter("sku\tqty", b';'), Some(b'\t'));
        assert_eq!([0, 25, 26, 27, 701, 702].map(column_letter), ["A", "Z", "AA", "AB", "ZZ", "AAA"]);
    }
}
