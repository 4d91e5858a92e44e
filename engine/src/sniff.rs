//! Whether a CSV file starts with a header, told as DuckDB's sniffer tells
//! it: the columns' types are detected on the rows after the first; when
//! the first row's values fit those types too, it is data, otherwise (or
//! when every column is text) it is the header. Used where SQL users name
//! a file (`FROM 'x.csv'`); LOAD keeps FugueSQL's explicit `header`.

use std::io::Read;

/// Rows looked at after the first.
const SAMPLE_ROWS: usize = 64;
/// Bytes read from the start of the file, at most.
pub(crate) const SAMPLE_BYTES: u64 = 256 * 1024;

/// What the first rows of a CSV file say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sniffed {
    pub header: bool,
    /// Each column's kind over the sampled rows, the first one included
    /// (the types of a file read without a header).
    pub kinds: Vec<Kind>,
}

/// Sniffs the file at `path` (None when it cannot be read as CSV). A file
/// of one row is taken to have a header (the caller's default), with that
/// row's kinds for a read without one.
pub(crate) fn sniff(path: &str, delimiter: u8, quote: u8) -> Option<Sniffed> {
    let mut text = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(SAMPLE_BYTES)
        .read_to_end(&mut text)
        .ok()?;
    sniff_bytes(&text, delimiter, quote)
}

/// [`sniff`] of the first bytes of a file (a store object's).
pub(crate) fn sniff_bytes(text: &[u8], delimiter: u8, quote: u8) -> Option<Sniffed> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .quote(quote)
        .flexible(true)
        .from_reader(text);
    let mut rows = reader.records();
    let first = rows.next()?.ok()?;
    let rest: Vec<csv::StringRecord> = rows.take(SAMPLE_ROWS).map_while(Result::ok).collect();
    if rest.is_empty() {
        return Some(Sniffed {
            header: true,
            kinds: first
                .iter()
                .map(|v| {
                    if v.is_empty() {
                        Kind::Text
                    } else {
                        Kind::of_all(&[v])
                    }
                })
                .collect(),
        });
    }
    let columns = first.len();
    let column = |j: usize, with_first: bool| -> Kind {
        let values: Vec<&str> = rest
            .iter()
            .chain(with_first.then_some(&first))
            .filter_map(|r| r.get(j))
            .filter(|v| !v.is_empty())
            .collect();
        Kind::of_all(&values)
    };
    let mut typed_column = false;
    let mut header = false;
    for j in 0..columns {
        let kind = column(j, false);
        if kind == Kind::Text {
            continue;
        }
        typed_column = true;
        // An integer column whose first value is a decimal number is
        // still a number column.
        let head = first.get(j).unwrap_or_default();
        if !head.is_empty() && !kind.widened().accepts(head) {
            header = true;
        }
    }
    // All text: nothing tells a header from data; a header is likelier.
    Some(Sniffed {
        header: header || !typed_column,
        kinds: (0..columns).map(|j| column(j, true)).collect(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Integer,
    Number,
    Boolean,
    Text,
}

impl Kind {
    fn of_all(values: &[&str]) -> Kind {
        if values.is_empty() {
            return Kind::Text;
        }
        for kind in [Kind::Integer, Kind::Number, Kind::Boolean] {
            if values.iter().all(|v| kind.accepts(v)) {
                return kind;
            }
        }
        Kind::Text
    }

    fn widened(self) -> Kind {
        match self {
            Kind::Integer => Kind::Number,
            other => other,
        }
    }

    fn accepts(self, v: &str) -> bool {
        let v = v.trim();
        match self {
            Kind::Integer => v.parse::<i64>().is_ok(),
            Kind::Number => v.parse::<f64>().is_ok(),
            Kind::Boolean => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
            Kind::Text => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> Option<bool> {
        sniff_bytes(text.as_bytes(), b',', b'"').map(|s| s.header)
    }

    #[test]
    fn a_header_is_told_from_data_as_duckdb_tells_it() {
        // Names over numbers: a header.
        assert_eq!(header("id,amount\n1,2.5\n2,3\n"), Some(true));
        // Numbers all the way: data, typed (an integer column whose first
        // value has decimals is a number column).
        assert_eq!(header("1,2.5\n2,3\n"), Some(false));
        let s = sniff_bytes(b"1,2.5,x,true\n2,3,y,false\n", b',', b'"').unwrap();
        assert_eq!(
            s.kinds,
            vec![Kind::Integer, Kind::Number, Kind::Text, Kind::Boolean]
        );
        // A text column and a number column whose first value is a number.
        assert_eq!(header("eu,1\nus,2\n"), Some(false));
        // Only text: a header is assumed.
        assert_eq!(header("region,city\neu,Lisbon\n"), Some(true));
        // Empty values do not decide; one row is taken as a header (the
        // default), with its kinds for a read without one.
        assert_eq!(header("a,b\n,1\n3,\n"), Some(true));
        assert_eq!(header("a,b\n"), Some(true));
        assert_eq!(
            sniff_bytes(b"1,x,\n", b',', b'"').unwrap().kinds,
            vec![Kind::Integer, Kind::Text, Kind::Text]
        );
        // Quoted fields with the delimiter inside.
        assert_eq!(header("name,age\n\"Cai, Jr.\",27\n"), Some(true));
    }
}
