//! Sample sets as CSV: one input per line, comma-separated numbers, an optional header.
//!
//! Numbers are parsed as `f32`, which recovers exactly the values of files written with the
//! shortest round-tripping decimal (the shared reference data and everything birdnn writes).

use super::ParseError;
use crate::tensor::{Array2, ArrayRef2, BatchRows};
use std::fmt::Write;

/// A parsed CSV: its header (if the first line was not numeric) and its rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Column names, when the file had a header line.
    pub header: Option<Vec<String>>,
    /// The numbers, one row per line.
    pub rows: Array2<f32>,
}

/// Parses a CSV of numbers. Blank lines are skipped; every row must have as many columns as
/// the first; every value must be a finite number.
pub fn read(name: &str, text: &str) -> Result<Table, ParseError> {
    let mut header = None;
    let mut cols: Option<usize> = None;
    let mut data = Vec::new();
    let mut rows = 0;
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let first_content = cols.is_none() && header.is_none();
        if first_content && fields.iter().any(|f| f.parse::<f32>().is_err()) {
            header = Some(fields.iter().map(|f| f.to_string()).collect::<Vec<_>>());
            cols = Some(fields.len());
            continue;
        }
        let expected = *cols.get_or_insert(fields.len());
        if fields.len() != expected {
            return Err(ParseError::at(
                name,
                line_no,
                1,
                format!("expected {expected} columns, found {}", fields.len()),
            ));
        }
        let mut column = 1;
        for field in &fields {
            let value: f32 = field.parse().map_err(|_| {
                ParseError::at(
                    name,
                    line_no,
                    column,
                    format!("expected a number, found '{field}'"),
                )
            })?;
            if !value.is_finite() {
                return Err(ParseError::at(
                    name,
                    line_no,
                    column,
                    format!("expected a finite number, found '{field}'"),
                ));
            }
            data.push(value);
            column += field.len() + 1;
        }
        rows += 1;
    }
    let cols = cols.unwrap_or(0);
    Ok(Table {
        header,
        rows: crate::tensor::from_vec(rows, cols, data).expect("rows * cols values were pushed"),
    })
}

/// Reads a CSV whose rows must have `width` columns (e.g. a network's inputs).
pub fn read_with_width(name: &str, text: &str, width: usize) -> Result<Array2<f32>, ParseError> {
    let table = read(name, text)?;
    if table.rows.nrows() > 0 && table.rows.ncols() != width {
        return Err(ParseError::whole(
            name,
            format!(
                "rows have {} columns, expected {width} (one per network input)",
                table.rows.ncols()
            ),
        ));
    }
    Ok(table.rows)
}

/// Writes rows as CSV with the given header, numbers in their shortest round-tripping form.
pub fn write(header: &[String], rows: &ArrayRef2<f32>) -> String {
    let rows = &*crate::tensor::standard(rows);
    let mut out = header.join(",");
    out.push('\n');
    for row in rows.row_slices() {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write!(out, "{v}").expect("writing to a String");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_header_rows_and_reports_bad_cells_by_line_and_column() {
        let t = read("a.csv", "x0,x1\n1,2.5\n\n-3,4e-2\n").unwrap();
        assert_eq!(
            t.header.as_deref(),
            Some(&["x0".to_string(), "x1".to_string()][..])
        );
        assert_eq!(t.rows.flat(), &[1.0, 2.5, -3.0, 0.04]);
        let e = read("a.csv", "1,2\n3,x\n").unwrap_err();
        assert_eq!(e.to_string(), "a.csv:2:3: expected a number, found 'x'");
        let e = read("a.csv", "1,2\n3\n").unwrap_err();
        assert!(e.to_string().contains("expected 2 columns"), "{e}");
        assert!(read("a.csv", "1,NaN\n").is_err());
        assert!(read_with_width("a.csv", "1,2\n", 5).is_err());
    }

    #[test]
    fn writes_what_it_reads() {
        let rows = crate::tensor::from_rows(&[[0.1f32, -2.0], [1e-7, 3.25]]).unwrap();
        let text = write(&["a".into(), "b".into()], &rows);
        assert_eq!(read("t.csv", &text).unwrap().rows, rows);
    }
}
