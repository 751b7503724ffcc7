//! The CSV reader on any text: a table or an error, never a panic. A table read is written
//! and reads back to the same numbers.
#![no_main]

use birdnn::formats::csv;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(table) = csv::read("t.csv", text) {
        let header: Vec<String> = table
            .header
            .clone()
            .unwrap_or_else(|| (0..table.rows.ncols()).map(|i| format!("x{i}")).collect());
        let written = csv::write(&header, &table.rows);
        let back = csv::read("t.csv", &written).expect("what the writer wrote reads back");
        assert_eq!(back.rows, table.rows, "{written}");
    }
});
